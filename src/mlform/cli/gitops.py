"""`mlform reconcile` (what the git hook and CI run on every push) and `mlform hooks`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlform.cli.options import ENV, LOCK, PROJECT
from mlform.errors import UserError
from mlform.printable import one_line


@click.command(name="reconcile")
@PROJECT
@ENV
@LOCK
@click.option(
    "--checkout",
    "branch",
    help="First lock the work tree, fetch origin and check out this branch's tip "
    "(what the post-receive hook runs).",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also append the report to this file (a symlink is refused).",
)
def reconcile(
    path: Path,
    environment: str | None,
    lock_timeout: float,
    branch: str | None,
    log_file: Path | None,
) -> int:
    """Apply the checked-out revision if it changed anything (what a push runs)."""
    from mlform.clock import stamp
    from mlform.reconcile.gitops import reconcile as run

    log = _open_log(log_file) if log_file else None

    def report(message: str) -> None:
        click.echo(message)
        if log is not None:
            log.write(f"{stamp()} {one_line(message)}\n")
            log.flush()

    try:
        result = run(path, environment, lock_timeout, report, branch)
    except UserError as error:
        report(f"Error: {error.message}")
        raise
    finally:
        if log is not None:
            log.close()
    click.echo(click.style(result.message, fg="green" if result.code == 0 else "red", bold=True))
    if log_file:
        with _open_log(log_file) as again:
            again.write(f"{stamp()} {one_line(result.message)}\n")
    return result.code


def _open_log(path: Path) -> Any:
    """Append-only, never through a symlink, readable by its owner only."""
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)  # a log an older mlform left wider is narrowed
    except OSError as error:
        raise UserError(f"cannot append to {path}: {error.strerror}") from None
    return os.fdopen(fd, "a", encoding="utf-8")


@click.group()
def hooks() -> None:
    """Git hooks that reconcile on every push."""


@hooks.command(name="install")
@click.option(
    "--bare-repo",
    "bare",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    required=True,
    help="The bare repository people push to.",
)
@click.option(
    "--worktree",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Where pushed revisions are checked out and applied.",
)
@click.option("--branch", default="main", show_default=True)
@click.option(
    "--project",
    "project",
    default=".",
    show_default=True,
    help="The project's folder inside the repository.",
)
@ENV
@click.option(
    "--background",
    is_flag=True,
    help="Return to the pusher at once; the report goes only to the log.",
)
def hooks_install(
    bare: Path,
    worktree: Path,
    branch: str,
    project: str,
    environment: str | None,
    background: bool,
) -> int:
    """Install a post-receive hook: each push to BRANCH is checked out and reconciled."""
    from mlform.reconcile.gitops import install_hook

    hook = install_hook(bare, worktree, branch, environment, project, background)
    click.echo(f"Installed {hook}: pushes to {branch} are reconciled in {worktree}.")
    return 0
