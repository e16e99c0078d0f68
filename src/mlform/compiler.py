"""`mlform compile`: specs → rendered engine configs, written all at once or checked."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from mlform.diagnostics import Diagnostic
from mlform.engines.process import ProgramMissing
from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.project import ProjectGraph
from mlform.registry import Registry, Releases
from mlform.targets import RenderedFile
from mlform.written import remember_rendered


@dataclass(frozen=True)
class CompileResult:
    root: Path
    files: tuple[RenderedFile, ...]
    changed: tuple[str, ...]  # written (compile) or stale (compile --check)
    notes: tuple[str, ...] = ()  # what was not rendered, and why
    warnings: tuple[Diagnostic, ...] = ()  # what validation found worth saying


def render_all(
    graph: ProjectGraph, releases: dict[str, Releases] | str
) -> tuple[list[RenderedFile], list[str], set[str]]:
    """Every file the specs produce, in a stable order; notes on what was not rendered;
    the paths of cluster Deployments' manifests among them. ``releases``: the registered
    versions of the models cluster Deployments serve, or why the registry cannot be read
    (then no Deployment is rendered)."""
    from mlform.targets.dvc import render_pipeline
    from mlform.targets.prometheus import render_monitoring
    from mlform.targets.serving import Rendered, render_deployments

    if isinstance(releases, str):
        deployments = Rendered([], [f"Deployments for clusters are not rendered: {releases}"])
    else:
        deployments = render_deployments(graph, releases)
    files = render_pipeline(graph) + render_monitoring(graph) + deployments.files
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):  # pragma: no cover - targets own disjoint paths
        raise AssertionError(f"two targets render the same file: {paths}")
    return files, deployments.notes, {f.path for f in deployments.files}


def read_releases(graph: ProjectGraph) -> dict[str, Releases] | str:
    """What the registry (git tags) holds for the models that cluster Deployments serve:
    nothing outside a git repository; why not, when git is not installed."""
    from mlform.targets.serving import cluster_deployments

    registry = Registry(graph.root)
    models = sorted({d.spec.model for d in cluster_deployments(graph)})
    try:
        return registry.releases_of(models)
    except ProgramMissing as missing:
        return missing.message


def environment_files(graph: ProjectGraph) -> list[RenderedFile]:
    """The files an environment renders apart from the default's: its own pipeline (when
    its overlays patch what the pipeline is made of) and its own rules (when they patch a
    Monitor)."""
    from mlform.targets.dvc import render_pipeline
    from mlform.targets.prometheus import render_monitoring

    files: list[RenderedFile] = []
    if graph.pipeline_env:
        files += render_pipeline(graph)
    if graph.monitoring_env:
        files += render_monitoring(graph)
    return files


def compile_project(
    graph: ProjectGraph, *, check: bool = False, environments: tuple[ProjectGraph, ...] = ()
) -> CompileResult:
    """Render, and write (or with ``check``, compare) the rendered files: the default
    environment's, and those of ``environments`` that are their own."""
    files, notes, manifests = render_all(graph, read_releases(graph))
    for env in environments:
        files += environment_files(env)
    root = graph.root
    if check:
        stale = tuple(f.path for f in files if _bytes_on_disk(root / f.path) != f.data)
        return CompileResult(root, tuple(files), stale, tuple(notes), graph.warnings)
    # a manifest compile writes is this checkout's, not an edit (see mlform.written)
    remember_rendered(root, ((f.path, f.data) for f in files if f.path in manifests))
    try:
        written = write_all((root / f.path, f.data) for f in files)
    except OSError as exc:
        raise UserError(f"could not write the rendered files (none were changed): {exc}") from exc
    changed = tuple(p.relative_to(root).as_posix() for p in written)
    return CompileResult(root, tuple(files), changed, tuple(notes), graph.warnings)


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
