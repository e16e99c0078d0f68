"""`mlform compile`: specs → rendered engine configs, written all at once or checked."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.project import ProjectGraph
from mlform.targets import RenderedFile
from mlform.validate import ValidationResult, validate


@dataclass(frozen=True)
class CompileResult:
    validation: ValidationResult
    files: tuple[RenderedFile, ...]
    changed: tuple[str, ...]  # written (compile) or stale (compile --check)
    notes: tuple[str, ...] = ()  # what was not rendered, and why


def render_all(graph: ProjectGraph) -> tuple[list[RenderedFile], list[str]]:
    """Every file the specs produce, in a stable order, and notes on what was not rendered."""
    from mlform.targets.dvc import render_pipeline
    from mlform.targets.prometheus import render_monitoring
    from mlform.targets.serving import render_deployments

    deployments = render_deployments(graph)
    files = render_pipeline(graph) + render_monitoring(graph) + deployments.files
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):  # pragma: no cover - targets own disjoint paths
        raise AssertionError(f"two targets render the same file: {paths}")
    return files, deployments.notes


def compile_project(path: Path, *, check: bool = False) -> CompileResult:
    """Validate, render, and write (or with ``check``, compare) the rendered files."""
    result = validate(path)
    graph = ProjectGraph.from_validation(result)
    files, notes = render_all(graph)
    root = graph.root
    if check:
        stale = tuple(f.path for f in files if _bytes_on_disk(root / f.path) != f.data)
        return CompileResult(result, tuple(files), stale, tuple(notes))
    try:
        written = write_all((root / f.path, f.data) for f in files)
    except OSError as exc:
        raise UserError(f"could not write the rendered files (none were changed): {exc}") from exc
    changed = tuple(p.relative_to(root).as_posix() for p in written)
    return CompileResult(result, tuple(files), changed, tuple(notes))


def _bytes_on_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _on_disk(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def diff(root: Path, file: RenderedFile, max_lines: int = 40) -> str:
    """A short unified diff of the file on disk against what the specs produce."""
    if file.text is None:
        return (
            f"  {file.path} {'differs (binary)' if (root / file.path).exists() else 'is missing'}"
        )
    current = _on_disk(root / file.path)
    if current is None:
        return f"  {file.path} is missing"
    lines = list(
        difflib.unified_diff(
            current.splitlines(),
            file.text.splitlines(),
            f"{file.path} (on disk)",
            f"{file.path} (from specs)",
            lineterm="",
            n=1,
        )
    )
    shown = lines[:max_lines]
    if len(lines) > max_lines:
        shown.append(f"... {len(lines) - max_lines} more diff lines")
    return "\n".join(shown)
