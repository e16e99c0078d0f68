"""What an apply carries from step to step: the project, the resources, the state (saved
after every resource), the progress callback and the crash-test hook; and how one step is
run, reported and recorded."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.errors import UserError
from mlform.project import ProjectGraph
from mlform.reconcile.changes import Change
from mlform.reconcile.resources import Resource
from mlform.reconcile.state import State, now
from mlform.targets import RenderedFile

Progress = Callable[[str], None]


class Crash:
    """Test hook: ``MLFORM_CRASH_AT=N`` kills this process (SIGKILL) at the N-th checkpoint."""

    def __init__(self) -> None:
        self.at = int(os.environ.get("MLFORM_CRASH_AT", "0") or 0)
        self.count = 0

    def point(self) -> None:
        self.count += 1
        if self.at and self.count == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Outcome:
    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # not applied because of a failure

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Sharing:
    """What an apply shares with the team: registry tags pushed to a git remote, pipeline
    outputs and DVC's run-cache through the DVC remote; and whether local servers run here."""

    git_remote: str | None = None
    dvc_remote: tuple[str, str] | None = None  # (name, url)
    serve: bool = True


@dataclass
class Context:
    graph: ProjectGraph
    resources: dict[str, Resource]
    files: dict[str, RenderedFile]
    state: State
    revision: str | None
    progress: Progress
    crash: Crash = field(default_factory=Crash)
    sharing: Sharing = field(default_factory=Sharing)

    @property
    def root(self) -> Path:
        return self.graph.root

    def record(
        self, resource: Resource, outputs: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        previous = self.state.resources.get(resource.address, {})
        self.state.resources[resource.address] = {
            "type": resource.type,
            "name": resource.name,
            "spec_hash": resource.spec_hash,
            "meta_hash": resource.meta_hash,
            "spec": resource.spec,
            "meta": resource.meta,
            "depends_on": list(resource.depends_on),
            "prevent_destroy": resource.prevent_destroy,
            "status": "failed" if error else "applied",
            **({"error": error} if error else {}),
            "outputs": outputs if outputs is not None else previous.get("outputs", {}),
            # the versions of what it depends on when it was applied (a model's, for a
            # deployment): when one moves, the plan updates this resource
            "upstream": {
                d: v for d in resource.depends_on if (v := _version(self.state, d)) is not None
            },
            # the specs of what it depends on when it was applied: a dependency recorded
            # later with other specs (an apply killed in between) makes the plan redo it
            "upstream_specs": {
                d: self.state.resources[d].get("spec_hash")
                for d in resource.depends_on
                if d in self.state.resources
            },
            "applied_at": now(),
        }
        self.crash.point()
        self.state.save()
        self.crash.point()


def _version(state: State, address: str) -> str | None:
    version = (state.resources.get(address, {}).get("outputs") or {}).get("version")
    return str(version) if version is not None else None


def blocked(ctx: Context, outcome: Outcome, change: Change) -> str | None:
    for dependency in change.depends_on:
        if dependency in outcome.failed:
            return f"not applied: {dependency} failed"
        if dependency in outcome.skipped:
            return f"not applied: {dependency} was not applied"
    return None


def step(ctx: Context, outcome: Outcome, change: Change, work: Callable[[], None]) -> None:
    why = blocked(ctx, outcome, change)
    if why:
        outcome.skipped[change.address] = why
        ctx.progress(f"{change.address}: skipped ({why})")
        return
    ctx.progress(f"{change.address}: {doing(change)}…")
    try:
        work()
    except UserError as error:
        fail(ctx, outcome, change, error.message)
        return
    outcome.applied.append(change.address)
    ctx.progress(f"{change.address}: {done(change)}")


def fail(ctx: Context, outcome: Outcome, change: Change, message: str) -> None:
    outcome.failed[change.address] = message
    resource = ctx.resources.get(change.address)
    if resource is not None:
        ctx.record(resource, error=message)
    ctx.progress(f"{change.address}: FAILED: {message}")


def doing(change: Change) -> str:
    return (
        {"create": "creating", "update": "updating", "delete": "destroying"}[change.actions[0]]
        if len(change.actions) == 1
        else "replacing"
    )


def done(change: Change) -> str:
    return (
        {"create": "created", "update": "updated", "delete": "destroyed"}[change.actions[0]]
        if len(change.actions) == 1
        else "replaced"
    )
