"""Sync and health of every resource, as Argo CD reports them: sync is whether the world
matches the specs (``Synced``/``OutOfSync``), health whether what runs is well (``Healthy``,
``Progressing`` during a canary, ``Missing``, ``Degraded``); the environment's health is
its worst resource's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlform.project import ProjectGraph
from mlform.reconcile.changes import Change, Plan
from mlform.reconcile.run import plan_and_state
from mlform.reconcile.state import State

HEALTH_ORDER = ["Healthy", "Progressing", "Unknown", "Missing", "Degraded"]


@dataclass(frozen=True)
class ResourceStatus:
    address: str
    sync: str
    health: str
    reason: str  # why it is out of sync
    detail: str  # what it serves or which version it is


@dataclass(frozen=True)
class Status:
    environment: str
    sync: str
    health: str
    applied_revision: str | None
    attempted_revision: str | None
    head: str | None
    last_failure: dict[str, Any] | None
    resources: tuple[ResourceStatus, ...]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["resources"] = [asdict(r) for r in self.resources]
        return out


def status(graph: ProjectGraph, environment: str | None) -> Status:
    current, wanted, state = plan_and_state(graph, environment)
    rows = tuple(_row(change, current, state) for change in current.changes)
    worst = max((r.health for r in rows), key=HEALTH_ORDER.index, default="Healthy")
    return Status(
        wanted.environment,
        "Synced" if all(r.sync == "Synced" for r in rows) else "OutOfSync",
        worst,
        state.applied_revision,
        state.attempted_revision,
        current.revision,
        state.last_failure,
        rows,
    )


def _row(change: Change, current: Plan, state: State) -> ResourceStatus:
    recorded = state.resources.get(change.address)
    drifted = {d.address for d in current.drift}
    if recorded is None:
        health = "Missing"
    elif recorded.get("status") == "failed":
        health = "Degraded"
    elif change.address in drifted:
        health = "Degraded" if change.type != "deployment" else "Missing"
    elif change.type == "deployment" and len((recorded.get("outputs") or {}).get("models", [])) > 1:
        health = "Progressing"  # a canary is running
    else:
        health = "Healthy"
    return ResourceStatus(
        change.address,
        "Synced" if not change.is_change else "OutOfSync",
        health,
        change.reason if change.is_change else "",
        _detail(recorded),
    )


def _detail(recorded: dict[str, Any] | None) -> str:
    outputs = (recorded or {}).get("outputs") or {}
    if "models" in outputs:
        return ", ".join(f"{m['version']} ({m['weight']}%)" for m in outputs["models"]) + (
            f" at {outputs['url']}" if outputs.get("url") else ""
        )
    if "version" in outputs:
        return str(outputs["version"])
    return ""
