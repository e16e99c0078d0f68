"""The reconciler's operations as the CLI calls them: plan, apply, destroy, status, reconcile."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.errors import SpecInvalid, UserError
from mlform.project import ProjectGraph
from mlform.reconcile import apply as applying
from mlform.reconcile.observe import observe
from mlform.reconcile.plan import Plan, plan
from mlform.reconcile.resources import Resource, desired
from mlform.reconcile.state import DEFAULT_ENV, State, locked, now
from mlform.targets import RenderedFile
from mlform.validate import ValidationResult, validate


@dataclass
class Desired:
    validation: ValidationResult
    graph: ProjectGraph
    resources: dict[str, Resource]
    files: dict[str, RenderedFile]
    environment: str


def revision(root: Path) -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def _valid(start: Path, environment: str | None) -> ValidationResult:
    result = validate(start, environment)
    if not result.valid:
        raise SpecInvalid("the specs have errors", result.diagnostics.sorted())
    return result


def load_graph(start: Path, environment: str | None = None) -> ProjectGraph:
    """The project's graph in ``environment``; located diagnostics when the specs are invalid."""
    return ProjectGraph.from_validation(_valid(start, environment))


def load(start: Path, environment: str | None) -> Desired:
    from mlform.targets.dvc import render_pipeline
    from mlform.targets.prometheus import render_monitoring

    result = _valid(start, environment)
    graph = ProjectGraph.from_validation(result)
    files = {f.path: f for f in [*render_pipeline(graph), *render_monitoring(graph)]}
    shas = {path: hashlib.sha256(f.data).hexdigest() for path, f in files.items()}
    env = environment or DEFAULT_ENV
    return Desired(result, graph, desired(graph, shas, environment), files, env)


def make_plan(wanted: Desired, state: State) -> Plan:
    made = plan(
        wanted.resources,
        state,
        observe(wanted.graph.root, state),
        wanted.environment,
        revision(wanted.graph.root),
    )
    made.specs = specs_digest(wanted)
    return made


def plan_only(start: Path, environment: str | None) -> tuple[Plan, Desired]:
    wanted = load(start, environment)
    state = State.load(wanted.graph.root, wanted.environment)
    return make_plan(wanted, state), wanted


def apply_plan(
    wanted: Desired,
    saved: Plan | None,
    lock_timeout: float,
    progress: Callable[[str], None],
    confirm: Callable[[Plan], bool] | None = None,
    operation: str = "apply",
) -> tuple[Plan, applying.Outcome]:
    """Lock, plan (or check the saved plan is current), confirm, apply, record revisions."""
    root = wanted.graph.root
    with locked(
        root,
        wanted.environment,
        operation,
        lock_timeout,
        on_stale=lambda holder: progress(
            f"Removed a stale lock {holder.get('ID')} of {holder.get('Who')} (process {holder.get('pid')} is gone)."
        ),
    ):
        crash = applying.Crash()
        crash.point()
        state = State.load(root, wanted.environment)
        state.checkpoint = crash.point
        if saved is not None:
            if (saved.serial, saved.lineage) != (state.serial, state.lineage):
                raise UserError(
                    f"Saved plan is stale: the state moved on since it was made (serial {saved.serial} → {state.serial})",
                    hint="Run `mlform plan` again.",
                )
            if saved.environment != wanted.environment:
                raise UserError(
                    f"the saved plan is for environment '{saved.environment}', not '{wanted.environment}'"
                )
            if saved.specs != specs_digest(wanted):
                raise UserError(
                    "Saved plan is stale: the specs changed since it was made",
                    hint="Run `mlform plan` again.",
                )
            current = saved
        else:
            current = make_plan(wanted, state)
        if current.errors:
            raise UserError("the plan cannot be applied:\n  " + "\n  ".join(current.errors))
        if confirm is not None and current.has_changes and not confirm(current):
            raise UserError("Apply cancelled.")
        crash.point()
        context = applying.Context(
            wanted.graph, wanted.resources, wanted.files, state, current.revision, progress, crash
        )
        outcome = applying.apply(context, current)
        state.attempted_revision = current.revision
        if outcome.ok:
            state.applied_revision = current.revision
            state.last_failure = None
        else:
            state.last_failure = {
                "revision": current.revision,
                "specs": specs_digest(wanted),
                "at": now(),
                "errors": [f"{a}: {m}" for a, m in outcome.failed.items()],
            }
        state.save()
        return current, outcome


def specs_digest(wanted: Desired) -> str:
    return hashlib.sha256(
        json.dumps({a: r.spec_hash for a, r in sorted(wanted.resources.items())}).encode()
    ).hexdigest()[:16]


def destroy_plan(wanted: Desired) -> Desired:
    """Everything of the environment destroyed: plan against no declared resources."""
    return Desired(wanted.validation, wanted.graph, {}, {}, wanted.environment)


# --- status ------------------------------------------------------------------------------
HEALTH_ORDER = ["Healthy", "Progressing", "Unknown", "Missing", "Degraded"]


def status(start: Path, environment: str | None) -> dict[str, Any]:
    current, wanted = plan_only(start, environment)
    state = State.load(wanted.graph.root, wanted.environment)
    rows = []
    for change in current.changes:
        recorded = state.resources.get(change.address)
        sync = "Synced" if not change.is_change else "OutOfSync"
        if recorded is None:
            health = "Missing"
        elif recorded.get("status") == "failed":
            health = "Degraded"
        elif change.address in {d.address for d in current.drift}:
            health = "Degraded" if change.type != "deployment" else "Missing"
        elif (
            change.type == "deployment"
            and len((recorded.get("outputs") or {}).get("models", [])) > 1
        ):
            health = "Progressing"  # a canary is running
        else:
            health = "Healthy"
        rows.append(
            {
                "address": change.address,
                "sync": sync,
                "health": health,
                "reason": change.reason if change.is_change else "",
                "detail": _detail(recorded),
            }
        )
    worst = max((r["health"] for r in rows), key=HEALTH_ORDER.index, default="Healthy")
    synced = "Synced" if all(r["sync"] == "Synced" for r in rows) else "OutOfSync"
    return {
        "environment": wanted.environment,
        "sync": synced,
        "health": worst,
        "applied_revision": state.applied_revision,
        "attempted_revision": state.attempted_revision,
        "head": current.revision,
        "last_failure": state.last_failure,
        "resources": rows,
    }


def _detail(recorded: dict[str, Any] | None) -> str:
    outputs = (recorded or {}).get("outputs") or {}
    if "models" in outputs:
        return ", ".join(f"{m['version']} ({m['weight']}%)" for m in outputs["models"]) + (
            f" at {outputs['url']}" if outputs.get("url") else ""
        )
    if "version" in outputs:
        return str(outputs["version"])
    return ""


def promote_canary(start: Path, name: str, environment: str | None, lock_timeout: float) -> str:
    """End a local Deployment's canary: its new version takes all the traffic, and the state
    records it (so the next plan sees no drift and the next rollout starts from it)."""
    from dataclasses import replace

    from mlform.serving import daemon
    from mlform.serving.config import ServeConfig
    from mlform.serving.deploy import state_dir

    root = load_graph(start, environment).root
    env = environment or DEFAULT_ENV
    address = f"deployment.{name}"
    with locked(root, env, "promote", lock_timeout):
        state = State.load(root, env)
        item = state.resources.get(address)
        outputs = (item or {}).get("outputs") or {}
        if item is None or outputs.get("target") != "local":
            raise UserError(
                f"'{address}' is not a local server that `mlform apply` started in "
                f"environment '{env}'"
            )
        folder = state_dir(root, name)
        config = ServeConfig.load(folder / "config.json")
        if len(config.models) < 2:
            served = ", ".join(f"{m.version} ({m.weight}%)" for m in config.models)
            raise UserError(f"Deployment '{name}' serves {served}: there is no canary to promote")
        canary = config.models[-1]  # the rollout's new version (see serving.deploy)
        daemon.apply(folder, replace(config, models=(replace(canary, weight=100),)))
        outputs["models"] = [{"version": canary.version, "weight": 100}]
        item["applied_at"] = now()
        state.save()
    return f"Promoted {canary.model}@{canary.version} to 100% of '{name}'s traffic."
