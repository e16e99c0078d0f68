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


def render_all(graph: ProjectGraph) -> list[RenderedFile]:
    """Every file the specs produce, in a stable order."""
    from mlform.targets.dvc import render_pipeline

    files = render_pipeline(graph)
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):  # pragma: no cover - targets own disjoint paths
        raise AssertionError(f"two targets render the same file: {paths}")
    return files


def compile_project(path: Path, *, check: bool = False) -> CompileResult:
    """Validate, render, and write (or with ``check``, compare) the rendered files."""
    result = validate(path)
    graph = ProjectGraph.from_validation(result)
    files = render_all(graph)
    root = graph.root
    if check:
        stale = tuple(f.path for f in files if _on_disk(root / f.path) != f.content)
        return CompileResult(result, tuple(files), stale)
    try:
        written = write_all((root / f.path, f.content.encode("utf-8")) for f in files)
    except OSError as exc:
        raise UserError(f"could not write the rendered files (none were changed): {exc}") from exc
    changed = tuple(p.relative_to(root).as_posix() for p in written)
    return CompileResult(result, tuple(files), changed)


def _on_disk(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def diff(root: Path, file: RenderedFile, max_lines: int = 40) -> str:
    """A short unified diff of the file on disk against what the specs produce."""
    current = _on_disk(root / file.path)
    if current is None:
        return f"  {file.path} is missing"
    lines = list(
        difflib.unified_diff(
            current.splitlines(),
            file.content.splitlines(),
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
