"""GitOps: reconcile the revision checked out (on every push), git hooks, CI workflows."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlform.engines import process
from mlform.engines.git import Git
from mlform.engines.process import CommandFailed
from mlform.errors import SpecInvalid, UserError
from mlform.reconcile.run import apply_plan, desired_state, revision, specs_digest
from mlform.reconcile.state import DEFAULT_ENV, State, backend_at, hold, now
from mlform.validation import load
from mlform.workspace import find_root


@dataclass(frozen=True)
class Reconciled:
    code: int  # 0 done or nothing to do, 1 failed
    message: str


def changed_specs(root: Path, since: str | None, head: str | None) -> list[str] | None:
    """Files changed between two revisions (None when it cannot be told)."""
    if since is None or head is None:
        return None
    return Git(root).changed(since, head)


def reconcile(
    start: Path,
    environment: str | None,
    lock_timeout: float,
    progress: Callable[[str], None],
    checkout: str | None = None,
) -> Reconciled:
    """Apply the revision checked out (or with ``checkout``, the tip of that branch of
    ``origin``, checked out under the lock) unless it failed before with the same specs."""
    if checkout is None:
        return _reconcile(start, environment, lock_timeout, progress)
    worktree = Git(start).toplevel()
    if worktree is None:
        raise UserError(f"--checkout: {start} is not inside a git work tree")
    with _worktree_lock(worktree, lock_timeout):
        # Under the lock, so two pushes never check out over each other's apply; the tip,
        # not the pushed revision, so the last push wins whatever order the hooks run in.
        git = Git(worktree)
        git.run(
            "fetch", "--quiet", "--tags", "--force", "origin", "+refs/heads/*:refs/remotes/origin/*"
        )
        tip = git.run("rev-parse", "--verify", f"refs/remotes/origin/{checkout}^{{commit}}").strip()
        git.run("checkout", "--quiet", "--force", tip)
        if not (start / "mlform.yaml").is_file() and not any(
            (p / "mlform.yaml").is_file() for p in start.resolve().parents
        ):
            return Reconciled(1, f"revision {_short(tip)} has no mlform.yaml in {start}")
        result = _reconcile(start, environment, lock_timeout, progress)
        # The registry lives in the repository people push to: send it the versions.
        pushed = process.run(
            "git", ["push", "--quiet", "origin", "--tags"], cwd=worktree, check=False
        )
        if not pushed.ok:
            progress(
                f"warning: could not push the registry's tags to origin: {pushed.output.strip()}"
            )
        return result


@contextmanager
def _worktree_lock(worktree: Path, timeout: float) -> Iterator[None]:
    """One reconcile at a time in this work tree (released when the process ends)."""
    import fcntl
    import time

    path = worktree / ".git" / "mlform-reconcile.lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(
                        f"another reconcile holds {worktree} for longer than the lock timeout"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def _reconcile(
    start: Path, environment: str | None, lock_timeout: float, progress: Callable[[str], None]
) -> Reconciled:
    root = find_root(start)
    env = environment or DEFAULT_ENV
    backend = backend_at(root, env)
    with hold(backend, env, "reconcile", lock_timeout, progress) as held:
        head = revision(root)
        state = State.read(backend, env)
        changed = changed_specs(root, state.applied_revision, head)
        if changed is not None:
            since = state.applied_revision[:8] if state.applied_revision else "-"
            more = " …" if len(changed) > 8 else ""
            progress(
                f"{len(changed)} file(s) changed since {since}: {', '.join(changed[:8])}{more}"
            )
        try:
            wanted = desired_state(load(start, environment), environment)
        except SpecInvalid as invalid:
            for diagnostic in invalid.diagnostics:
                progress(diagnostic.format())
            state.held = held
            state.attempted_revision = head
            state.last_failure = {
                "revision": head,
                "specs": "invalid",
                "at": now(),
                "errors": ["the specs have errors (run `mlform validate`)"],
            }
            state.save()
            return Reconciled(1, f"revision {_short(head)} has invalid specs; nothing was changed")
        digest = specs_digest(wanted)
        failure = state.last_failure
        if failure and failure.get("revision") == head and failure.get("specs") == digest:
            return Reconciled(
                1,
                f"revision {_short(head)} failed before with these specs "
                f"({'; '.join(failure.get('errors', []))}); not retrying. Push a fix, or run "
                "`mlform apply` to retry by hand.",
            )
        plan, outcome = apply_plan(
            wanted, None, lock_timeout, progress, _show(progress), "reconcile", held
        )
    if not plan.has_changes:
        return Reconciled(0, f"revision {_short(head)}: nothing to do")
    if outcome.ok:
        add, change, destroy = plan.counts()
        return Reconciled(
            0,
            f"revision {_short(head)} applied: {add} added, {change} changed, {destroy} destroyed",
        )
    return Reconciled(
        1,
        f"revision {_short(head)} failed: "
        + "; ".join(f"{a}: {m}" for a, m in outcome.failed.items()),
    )


def _show(progress: Callable[[str], None]) -> Callable[[object], bool]:
    def show(plan: object) -> bool:
        from mlform.reconcile import report
        from mlform.reconcile.changes import Plan

        assert isinstance(plan, Plan)
        progress(report.summary(plan))
        return True

    return show


def _short(head: str | None) -> str:
    return head[:8] if head else "(no commit)"


# --- hooks -------------------------------------------------------------------------------
HOOK = """#!/bin/sh
# Installed by `mlform hooks install`: reconcile every push to {branch_shown}.
# `mlform reconcile --checkout` locks {worktree_shown}, checks out the branch's tip there and
# applies it; its report is appended to {log_shown} (outside the work tree){shown}.
while read old new ref; do
  [ "$ref" = {ref} ] || continue
  [ "$new" = "0000000000000000000000000000000000000000" ] && continue
  (
    unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
    cd {worktree} || exit 1
    {command}
  )
done
exit 0
"""


def install_hook(
    bare: Path,
    worktree: Path,
    branch: str,
    environment: str | None,
    project: str,
    background: bool = False,
) -> Path:
    if not (bare / "HEAD").is_file() or not (bare / "objects").is_dir():
        raise UserError(f"{bare} is not a bare git repository")
    if not Git(bare).ok("check-ref-format", "--branch", branch):
        raise UserError(f"'{branch}' is not a valid branch name")
    if not (worktree / ".git").exists():
        worktree.parent.mkdir(parents=True, exist_ok=True)
        try:
            Git.clone(bare.resolve(), worktree)
        except CommandFailed as failed:
            raise UserError(f"cannot clone {bare} into {worktree}: {failed.last_line}") from None
    mlform = Path(sys.executable).parent / "mlform"
    log = bare.resolve() / "mlform-reconcile.log"
    words = [
        str(mlform if mlform.exists() else "mlform"),
        "reconcile",
        "--project",
        project or ".",
        "--checkout",
        branch,
        *(["--env", environment] if environment else []),
        "--lock-timeout",
        "10m",
        "--log",
        str(log),
    ]
    command = " ".join(shlex.quote(w) for w in words)
    if background:
        command = f"setsid {command} >/dev/null 2>&1 </dev/null &\n    echo {shlex.quote(f'mlform: reconciling {branch} in the background; see {log}')}"
    hook = bare / "hooks" / "post-receive"
    hook.write_text(
        HOOK.format(
            branch_shown=_comment(branch),
            worktree_shown=_comment(str(worktree.resolve())),
            log_shown=_comment(str(log)),
            shown=" and returns at once" if background else ", and shown to the pusher",
            ref=shlex.quote(f"refs/heads/{branch}"),
            worktree=shlex.quote(str(worktree.resolve())),
            command=command,
        )
    )
    hook.chmod(0o755)
    return hook


def _comment(text: str) -> str:
    """Text for a shell comment: one line."""
    return text.replace("\n", " ").replace("\r", " ")
