"""GitOps: reconcile the revision checked out (on every push), git hooks, CI workflows."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlform.engines.git import Git
from mlform.engines.process import CommandFailed
from mlform.errors import SpecInvalid, UserError
from mlform.reconcile.run import apply_plan, desired_state, revision, specs_digest
from mlform.reconcile.state import DEFAULT_ENV, State, locked, now
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
    start: Path, environment: str | None, lock_timeout: float, progress: Callable[[str], None]
) -> Reconciled:
    root = find_root(start)
    env = environment or DEFAULT_ENV
    head = revision(root)
    state = State.load(root, env)
    changed = changed_specs(root, state.applied_revision, head)
    if changed is not None:
        progress(
            f"{len(changed)} file(s) changed since {state.applied_revision[:8] if state.applied_revision else '-'}: {', '.join(changed[:8])}{' …' if len(changed) > 8 else ''}"
        )
    try:
        wanted = desired_state(load(start, environment), environment)
    except SpecInvalid as invalid:
        for diagnostic in invalid.diagnostics:
            progress(diagnostic.format())
        _record_failure(
            root,
            env,
            head,
            "invalid",
            ["the specs have errors (run `mlform validate`)"],
            lock_timeout,
        )
        return Reconciled(1, f"revision {_short(head)} has invalid specs; nothing was changed")
    digest = specs_digest(wanted)
    failure = state.last_failure
    if failure and failure.get("revision") == head and failure.get("specs") == digest:
        return Reconciled(
            1,
            f"revision {_short(head)} failed before with these specs ({'; '.join(failure.get('errors', []))}); not retrying. Push a fix, or run `mlform apply` to retry by hand.",
        )
    plan, outcome = apply_plan(wanted, None, lock_timeout, progress, _show(progress), "reconcile")
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
        from mlform.reconcile.plan import Plan

        assert isinstance(plan, Plan)
        progress(report.summary(plan))
        return True

    return show


def _short(head: str | None) -> str:
    return head[:8] if head else "(no commit)"


def _record_failure(
    root: Path, env: str, head: str | None, digest: str, errors: list[str], lock_timeout: float
) -> None:
    with locked(root, env, "reconcile", lock_timeout):
        state = State.load(root, env)
        state.attempted_revision = head
        state.last_failure = {"revision": head, "specs": digest, "at": now(), "errors": errors}
        state.save()


# --- hooks -------------------------------------------------------------------------------
HOOK = """#!/bin/sh
# Installed by `mlform hooks install`: reconcile every push to {branch}.
# The pushed revision is checked out in {worktree} and `mlform reconcile` applies it;
# its output is shown to the pusher and appended to {log}.
while read old new ref; do
  [ "$ref" = "refs/heads/{branch}" ] || continue
  [ "$new" = "0000000000000000000000000000000000000000" ] && continue
  (
    unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
    cd {worktree} || exit 1
    git fetch -q origin "+refs/heads/*:refs/remotes/origin/*" &&
    git checkout -q -f "$new" &&
    cd {project} &&
    {mlform} reconcile{env} --lock-timeout 10m
    status=$?
    git push -q origin --tags 2>/dev/null || true
    exit $status
  ) 2>&1 | tee -a {log}
done
exit 0
"""


def install_hook(
    bare: Path, worktree: Path, branch: str, environment: str | None, project: str
) -> Path:
    if not (bare / "HEAD").is_file() or not (bare / "objects").is_dir():
        raise UserError(f"{bare} is not a bare git repository")
    if not (worktree / ".git").exists():
        worktree.parent.mkdir(parents=True, exist_ok=True)
        try:
            Git.clone(bare.resolve(), worktree)
        except CommandFailed as failed:
            raise UserError(f"cannot clone {bare} into {worktree}: {failed.last_line}") from None
    mlform = Path(sys.executable).parent / "mlform"
    hook = bare / "hooks" / "post-receive"
    hook.write_text(
        HOOK.format(
            branch=branch,
            worktree=shlex.quote(str(worktree.resolve())),
            project=shlex.quote(project or "."),
            mlform=shlex.quote(str(mlform if mlform.exists() else "mlform")),
            env=f" --env {shlex.quote(environment)}" if environment else "",
            log=shlex.quote(str(worktree.resolve() / ".mlform-reconcile.log")),
        )
    )
    hook.chmod(0o755)
    return hook
