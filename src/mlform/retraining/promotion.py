"""What happens to a challenger that won: committed on the current branch and applied
through the reconciler (``auto``: register, deploy, canary first when the Deployment has
one), or committed on a new branch for review (``propose``), the work tree left as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from mlform.engines.git import Git, scratch_index
from mlform.errors import UserError
from mlform.layout import retrain_dir
from mlform.project import ProjectGraph
from mlform.spec import RetrainPolicy

Progress = Callable[[str], None]


def _relative(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def commit(root: Path, paths: list[Path], message: str) -> str:
    """Commit exactly ``paths`` on the current branch; the new commit."""
    return Git(root).commit(_relative(root, paths), message)


def propose(
    root: Path, policy: RetrainPolicy, paths: list[Path], message: str, remote: str | None = None
) -> str:
    """Commit ``paths`` on a new branch off HEAD; the current branch is not touched. With
    ``remote`` (a shared state backend's), the branch is pushed there for review."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    branch = f"{policy.spec.promotion.branch_prefix}{policy.spec.model}-{stamp}"
    scratch = scratch_index(retrain_dir(root, policy.metadata.name))
    git = Git(root)
    git.branch_commit(branch, _relative(root, paths), message, scratch)
    if remote is not None:  # for a pull request: the team sees the proposal
        git.run("push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return branch


def apply_committed(
    graph: ProjectGraph, policy: RetrainPolicy, progress: Progress, lock_timeout: float
) -> str | None:
    """Apply the project as now committed (the default environment); the version served."""
    from mlform.reconcile.run import apply_plan, desired_state
    from mlform.retraining.triggers import champion
    from mlform.validation import load

    fresh = load(graph.root)
    _, outcome = apply_plan(desired_state(fresh, None), None, lock_timeout, progress)
    if not outcome.ok:
        raise UserError(
            "the retrained model was committed but applying it failed: "
            + "; ".join(f"{a}: {m}" for a, m in outcome.failed.items())
        )
    return champion(fresh, policy.spec.model)
