"""Map (kind, name, field) back to `file:line:column` in the specs, for stage messages."""

from __future__ import annotations

from pathlib import Path

from mlform.diagnostics import Diagnostic, Severity, format_path
from mlform.loader import Loc


def locate(root: Path, code: str, kind: str, name: str, loc: Loc, message: str) -> Diagnostic:
    """A diagnostic at the spec field, or at the document when the specs cannot be read."""
    from mlform.workspace import read_workspace

    label = f"{kind} '{name}'"
    try:
        workspace = read_workspace(root)
    except Exception:  # the message matters more than its location
        return Diagnostic(
            Severity.ERROR, "params.yaml", 0, 0, code, message, label, format_path(loc)
        )
    for doc in workspace.documents:
        if doc.kind == kind and doc.name == name:
            line, column = doc.raw.mark(loc)
            return Diagnostic(
                Severity.ERROR, doc.raw.file, line, column, code, message, label, format_path(loc)
            )
    return Diagnostic(Severity.ERROR, "params.yaml", 0, 0, code, message, label, format_path(loc))
