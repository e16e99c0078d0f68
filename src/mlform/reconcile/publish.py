"""Cluster deployments published the GitOps way: with a shared state backend, the rendered
manifests of an environment's KServe, Triton and MLServer Deployments are committed to the
branch ``<Project.spec.deploy_branch>/<environment>`` of the team's remote (Argo CD's
"rendered manifests" pattern: Argo CD or Flux syncs that branch; nothing renders at sync).

The branch holds only the manifests, at their rendered paths. Each publish starts from the
branch as the remote has it and replaces the files of the Deployments this apply changed,
so a fresh runner that rendered one Deployment does not drop the others; the push is a
compare-and-swap, under the environment's lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlform.engines.git import Git, scratch_index
from mlform.errors import UserError
from mlform.reconcile.context import Context, Outcome


def branch_of(ctx: Context) -> str:
    return f"{ctx.graph.project.spec.deploy_branch}/{ctx.state.environment}"


def publish(ctx: Context, outcome: Outcome, before: dict[str, dict[str, Any]]) -> None:
    """Commit the changed cluster Deployments' files to the deploy branch and push it.
    ``before``: the deployments' records before this apply (their old files)."""
    remote = ctx.sharing.git_remote
    if remote is None:
        return
    changed = [
        address
        for address in outcome.applied
        if address.startswith("deployment.") and _cluster(before.get(address), ctx, address)
    ]
    if not changed:
        return
    git = Git(ctx.root)
    top = git.toplevel() or ctx.root
    prefix = ctx.root.resolve().relative_to(top.resolve()).as_posix()
    ref = f"refs/heads/{branch_of(ctx)}"
    tip = git.remote_ref(remote, ref)
    if tip is not None and not git.has_object(tip):
        git.fetch_ref(remote, ref)
    scratch = scratch_index(ctx.root / ".mlform")
    index = {"GIT_INDEX_FILE": str(scratch)}
    try:
        if tip is not None:
            git.run("read-tree", tip, env=index)
        else:
            git.run("read-tree", "--empty", env=index)
        for address in changed:
            old = (before.get(address) or {}).get("outputs", {}).get("files") or {}
            new = (ctx.state.resources.get(address) or {}).get("outputs", {}).get("files") or {}
            for path in old:
                if path not in new:
                    git.run("update-index", "--force-remove", "--", _at(prefix, path), env=index)
            for path in new:
                _add(git, ctx.root / path, _at(prefix, path), index)
        tree = git.run("write-tree", env=index).strip()
    finally:
        scratch.unlink(missing_ok=True)
    if tip is not None and tree == git.run("rev-parse", f"{tip}^{{tree}}").strip():
        return
    parents = ["-p", tip] if tip else []
    message = f"mlform: {ctx.state.environment} at {(ctx.revision or 'a work tree')[:12]}"
    commit = git.run("commit-tree", tree, *parents, "-m", message, env=git.identity()).strip()
    if not git.push_if(remote, ref, commit, tip):
        raise UserError(f"{ref} on {remote} moved while publishing; apply again")
    ctx.progress(f"Published the manifests of {', '.join(changed)} on {branch_of(ctx)}")


def _cluster(recorded: dict[str, Any] | None, ctx: Context, address: str) -> bool:
    now = (ctx.state.resources.get(address) or {}).get("outputs") or {}
    was = (recorded or {}).get("outputs") or {}
    return "files" in now or "files" in was


def _at(prefix: str, path: str) -> str:
    return path if prefix == "." else f"{prefix}/{path}"


def _add(git: Git, source: Path, name: str, index: dict[str, str]) -> None:
    blob = git.run("hash-object", "-w", "--", str(source)).strip()
    git.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=index)
