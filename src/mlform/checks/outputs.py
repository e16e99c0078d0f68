"""The places `compile` and `apply` write (and ``.mlform/``) hold no symlinks.

mlform never writes through a symlink (a pushed link named ``dvc.yaml`` could point at any
file of the machine that runs the reconciler). `validate` says so first, so that validate,
compile and apply agree on every checkout: one error per link, before anything is written.
The artifacts folder is DVC's: DVC itself may link outputs to its cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from mlform.checks.context import Context
from mlform.diagnostics import Diagnostic, Severity
from mlform.layout import LOCAL
from mlform.spec import Deployment, Monitor, Project
from mlform.workspace import too_long

RENDERED_FILES = ("dvc.yaml", "params.yaml")
PIPELINES = "pipelines"  # an environment's own pipeline: pipelines/<env>/


def _folders(ctx: Context, artifacts: bool) -> Iterator[str]:
    """The folders mlform writes (the artifacts folder is DVC's, which may link in it)."""
    yield PIPELINES
    for _, project in ctx.docs(Project):
        if artifacts:
            yield project.spec.artifacts
        yield project.spec.deploy_dir
        yield project.spec.monitoring.rules_dir
    for _, deployment in ctx.docs(Deployment):
        if deployment.spec.output_dir:
            yield deployment.spec.output_dir
    for _, monitor in ctx.docs(Monitor):
        if monitor.spec.rules_dir:
            yield monitor.spec.rules_dir


def _places(ctx: Context) -> Iterator[str]:
    """Where no symlink may be."""
    yield from RENDERED_FILES
    yield LOCAL  # state, locks, servers' logs: a committed link would send them elsewhere
    yield from _folders(ctx, artifacts=False)


def _lexical(place: str) -> bool:
    """A path check_paths has nothing against (else it reports E006)."""
    pure = PurePosixPath(place)
    return not (too_long(place) or pure.is_absolute() or ".." in pure.parts)


def symlinks(root: Path, place: str) -> Iterator[Path]:
    """The symlink on the way to ``place`` under ``root``, or every one inside it."""
    path = root
    for part in Path(place).parts:
        path = path / part
        if path.is_symlink():
            yield path
            return
    if not path.is_dir():
        return
    folders = [path]
    while folders:  # scandir's d_type: no stat per file, for stores of thousands of models
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    yield Path(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))


def check_outputs(ctx: Context) -> None:
    root = ctx.workspace.root
    files = set()
    for place in _folders(ctx, artifacts=True):
        path = root / place
        if _lexical(place) and path.exists() and not path.is_dir() and not path.is_symlink():
            files.add(place)
    for place in sorted(files):
        ctx.diagnostics.add(
            Diagnostic(
                Severity.ERROR, place, 0, 0, "E014",
                "is a file, where mlform writes a folder: change the spec's path or move the file",
            )
        )  # fmt: skip
    found: set[Path] = set()
    for place in _places(ctx):
        if _lexical(place):
            found.update(symlinks(root, place))
    for link in sorted(found):
        ctx.diagnostics.add(
            Diagnostic(
                Severity.ERROR,
                link.relative_to(root).as_posix(),
                0,
                0,
                "E013",
                "mlform renders this path and never writes through a symlink: "
                "remove the link (`mlform compile` writes the file)",
            )
        )
