"""Paths in specs stay inside the project; sources exist or are tracked by DVC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from mlform.checks.context import Context
from mlform.loader import Loc
from mlform.spec import Dataset, Deployment, Monitor, Project
from mlform.workspace import SpecDocument, inside, too_long

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def _paths(ctx: Context) -> Iterator[tuple[SpecDocument, Loc, str]]:
    for doc, project in ctx.docs(Project):
        spec = project.spec
        yield doc, ("spec", "artifacts"), spec.artifacts
        yield doc, ("spec", "deploy_dir"), spec.deploy_dir
        yield doc, ("spec", "monitoring", "rules_dir"), spec.monitoring.rules_dir
        for env, environment in spec.environments.items():
            for i, overlay in enumerate(environment.overlays):
                yield doc, ("spec", "environments", env, "overlays", i), overlay
    for doc, dataset in ctx.docs(Dataset):
        yield doc, ("spec", "source", "path"), dataset.spec.source.path
    for doc, dep in ctx.docs(Deployment):
        if dep.spec.output_dir:
            yield doc, ("spec", "output_dir"), dep.spec.output_dir
    for doc, mon in ctx.docs(Monitor):
        if mon.spec.rules_dir:
            yield doc, ("spec", "rules_dir"), mon.spec.rules_dir


def path_problem(root: Path, value: str) -> str | None:
    """Why ``value`` is not an acceptable project-relative path, or None."""
    long = too_long(value)
    if long:
        return long
    if "\\" in value or "\0" in value:
        return f"'{value}': use '/' to separate folders (and no NUL bytes)"
    pure = PurePosixPath(value)
    if pure.is_absolute():
        return f"'{value}' is absolute; paths are relative to the project root"
    if ".." in pure.parts or not inside(root, root / value):
        return f"'{value}' leaves the project"
    return None


def _problem(ctx: Context, value: str) -> str | None:
    """``path_problem``, asked once per path and run of the checks."""
    key = ("problem", value)
    if key not in ctx.seen:
        ctx.seen[key] = path_problem(ctx.workspace.root, value)
    found = ctx.seen[key]
    return found if isinstance(found, str) else None


def _present(ctx: Context, value: str) -> bool:
    """Whether the file or its .dvc file exists, asked once per path and run."""
    key = ("present", value)
    if key not in ctx.seen:
        path = ctx.workspace.root / value
        ctx.seen[key] = path.exists() or path.with_name(path.name + ".dvc").exists()
    return ctx.seen[key] is True


def check_paths(ctx: Context) -> None:
    root = ctx.workspace.root
    for doc, loc, value in _paths(ctx):
        problem = _problem(ctx, value)
        if problem:
            ctx.report(doc, loc, "E006", problem)
    for doc, project in ctx.docs(Project):
        for env, environment in project.spec.environments.items():
            for i, overlay in enumerate(environment.overlays):
                if path_problem(root, overlay) is None and not (root / overlay).is_file():
                    where: Loc = ("spec", "environments", env, "overlays", i)
                    ctx.report(doc, where, "E011", f"overlay file '{overlay}' does not exist")
    for doc, dataset in ctx.docs(Dataset):
        _check_source(ctx, doc, dataset)


def source_format(dataset: Dataset) -> str | None:
    source = dataset.spec.source
    return source.format or FORMATS.get(PurePosixPath(source.path).suffix.lower())


def _check_source(ctx: Context, doc: SpecDocument, dataset: Dataset) -> None:
    source = dataset.spec.source
    loc: Loc = ("spec", "source", "path")
    if _problem(ctx, source.path):
        return
    if source_format(dataset) is None:
        ctx.report(
            doc,
            loc,
            "E012",
            f"cannot tell the format of '{source.path}' from its extension; "
            "set spec.source.format to csv or parquet",
        )
    if not _present(ctx, source.path):
        ctx.report(
            doc,
            loc,
            "W002",
            f"'{source.path}' does not exist and no '{source.path}.dvc' tracks it; "
            "run `dvc pull` or fix the path",
        )
