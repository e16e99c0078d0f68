"""`mlform validate`: every document against its schema, then every cross-document rule;
and ``load``, the one way every command reads a project: validated, then resolved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlform.checks import run_checks
from mlform.diagnostics import Diagnostics
from mlform.errors import SpecInvalid
from mlform.overlays import apply_overlays
from mlform.project import ProjectGraph
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
        workspace = apply_overlays(workspace, environment)
    diagnostics = Diagnostics(list(workspace.diagnostics.items))
    diagnostics.extend(run_checks(workspace).items)
    return ValidationResult(workspace, diagnostics)


def load(path: Path, environment: str | None = None) -> ProjectGraph:
    """The project containing ``path``, validated and resolved. Invalid specs raise
    SpecInvalid carrying every diagnostic; the graph keeps the warnings."""
    result = validate(path, environment)
    if not result.valid:
        raise SpecInvalid("the specs have errors", result.diagnostics.sorted())
    return ProjectGraph.of(result.workspace, tuple(result.diagnostics.warnings))
