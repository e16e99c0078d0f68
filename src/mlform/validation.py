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


def validate(
    path: Path, environment: str | None = None, read: Workspace | None = None
) -> ValidationResult:
    """Read the project containing ``path`` (with ``environment``'s overlays applied) and
    collect every diagnostic of every file. ``read``: the project's files as already read
    (``read_workspace``), for one command that loads several environments."""
    workspace = read if read is not None else read_workspace(path)
    if environment is not None:
        workspace = apply_overlays(workspace, environment)
    diagnostics = Diagnostics(list(workspace.diagnostics.items))
    diagnostics.extend(run_checks(workspace).items)
    return ValidationResult(workspace, diagnostics)


def load(path: Path, environment: str | None = None, read: Workspace | None = None) -> ProjectGraph:
    """The project containing ``path``, validated and resolved. Invalid specs raise
    SpecInvalid carrying every diagnostic; the graph keeps the warnings."""
    return _resolved(validate(path, environment, read))


def _resolved(result: ValidationResult) -> ProjectGraph:
    if not result.valid:
        raise SpecInvalid("the specs have errors", result.diagnostics.sorted())
    return ProjectGraph.of(result.workspace, tuple(result.diagnostics.warnings))


def load_environments(path: Path) -> tuple[ProjectGraph, tuple[ProjectGraph, ...]]:
    """The default environment's graph and every declared environment's, from one reading
    of the files. An environment without overlays has the default's documents, so the
    default's checks stand for it (the checks read documents, never the environment)."""
    read = read_workspace(path)
    default = validate(path, None, read)
    graph = _resolved(default)
    others = []
    for name, environment in graph.project.spec.environments.items():
        if environment.overlays:
            others.append(load(path, name, read))
        else:
            same = ValidationResult(apply_overlays(read, name), default.diagnostics)
            others.append(_resolved(same))
    return graph, tuple(others)
