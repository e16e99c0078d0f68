"""`mlform validate`: every document against its schema, then every cross-document rule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlform.checks import run_checks
from mlform.diagnostics import Diagnostics
from mlform.workspace import Workspace, read_workspace


@dataclass(frozen=True)
class ValidationResult:
    workspace: Workspace
    diagnostics: Diagnostics

    @property
    def valid(self) -> bool:
        return not self.diagnostics.has_errors


def validate(path: Path, environment: str | None = None) -> ValidationResult:
    """Read the project containing ``path`` (with ``environment``'s overlays applied) and
    collect every diagnostic of every file."""
    workspace = read_workspace(path)
    if environment is not None:
        from mlform.reconcile.environments import apply_overlays

        workspace = apply_overlays(workspace, environment)
    diagnostics = Diagnostics(list(workspace.diagnostics.items))
    diagnostics.extend(run_checks(workspace).items)
    return ValidationResult(workspace, diagnostics)
