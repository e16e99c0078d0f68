"""The reconciler's operations as the CLI calls them: plan, apply, destroy, status, reconcile."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.project import ProjectGraph
from mlform.reconcile import apply as applying
from mlform.reconcile import selection
from mlform.reconcile.backends import Backend, Held, settings
from mlform.reconcile.changes import Plan
from mlform.reconcile.context import Sharing
from mlform.reconcile.observe import observe
from mlform.reconcile.plan import plan
from mlform.reconcile.resources import Resource, desired
from mlform.reconcile.selection import Request
from mlform.reconcile.state import DEFAULT_ENV, State, backend_of, hold, now
from mlform.registry import Registry
from mlform.state_settings import resolve, shared_git_remote
from mlform.targets import RenderedFile


@dataclass
class Desired:
    """What the specs declare in one environment: resources and the files they render."""

    graph: ProjectGraph
    resources: dict[str, Resource]
    files: dict[str, RenderedFile]
    environment: str


def revision(root: Path) -> str | None:
    """The commit checked out; None outside a git repository or before the first commit."""
    return Git(root).head()


def rendered(graph: ProjectGraph) -> dict[str, RenderedFile]:
    """The files the project renders (pipeline and monitoring rules), by path."""
    from mlform.targets.dvc import render_pipeline
    from mlform.targets.prometheus import render_monitoring

    return {f.path: f for f in [*render_pipeline(graph), *render_monitoring(graph)]}


def digests(files: dict[str, RenderedFile]) -> dict[str, str]:
    """Each rendered file's sha256, by path: what its ``file`` resource records."""
    return {path: hashlib.sha256(f.data).hexdigest() for path, f in files.items()}


def desired_state(graph: ProjectGraph, environment: str | None) -> Desired:
    """The resources the project declares in ``environment`` (None: the default)."""
    files = rendered(graph)
    env = environment or DEFAULT_ENV
    return Desired(graph, desired(graph, digests(files), environment), files, env)


def make_plan(wanted: Desired, state: State, request: Request | None = None) -> Plan:
    """The plan of every resource, or with an active ``request`` of those it selects (the
    world is observed only there; the changes left outside are counted)."""
    chosen = None
    if request is not None and request.active:
        chosen = selection.select(wanted.resources, state.resources, request, wanted.environment)
    made = plan(
        wanted.resources,
        state,
        observe(wanted.graph.root, state, chosen),
        wanted.environment,
        revision(wanted.graph.root),
    )
    made.specs = specs_digest(wanted)
    if request is None or chosen is None:
        return made
    count = selection.total(wanted.resources, state.resources)
    return selection.narrow(made, chosen, request, count)


def plan_for(
    graph: ProjectGraph, environment: str | None, request: Request | None = None
) -> tuple[Plan, Desired]:
    """What apply would do, without a lock (a plan changes nothing). The Desired returned
    holds no rendered files (``desired_state`` renders them for what writes them)."""
    plan, wanted, _ = plan_and_state(graph, environment, request)
    return plan, wanted


def plan_and_state(
    graph: ProjectGraph, environment: str | None, request: Request | None = None
) -> tuple[Plan, Desired, State]:
    """``plan_for``, and the recorded state it was planned against (read once)."""
    env = environment or DEFAULT_ENV
    # The files' digests first, their text let go: the state is read after, and each
    # unchanged resource shares its record's spec (the peak of memory, in a monorepo).
    shas = digests(rendered(graph))
    state = State.read(backend_of(graph, env), env)
    wanted = Desired(graph, desired(graph, shas, environment, state.resources), {}, env)
    return make_plan(wanted, state, request), wanted, state


def apply_plan(
    wanted: Desired,
    saved: Plan | None,
    lock_timeout: float,
    progress: Callable[[str], None],
    confirm: Callable[[Plan], bool] | None = None,
    operation: str = "apply",
    held: Held | None = None,
    serve: bool = True,
    request: Request | None = None,
) -> tuple[Plan, applying.Outcome]:
    """Lock (unless the caller holds the lock: ``held``), plan (or check the saved plan is
    current), confirm, apply, record revisions. ``serve``: whether local servers are
    started, swapped and stopped from this checkout. ``request``: plan only a part of the
    graph (a saved plan carries its own)."""
    backend = backend_of(wanted.graph, wanted.environment)
    if held is not None:
        return _apply_held(wanted, saved, backend, held, progress, confirm, serve, request)
    with hold(backend, wanted.environment, operation, lock_timeout, progress) as mine:
        return _apply_held(wanted, saved, backend, mine, progress, confirm, serve, request)


def sharing(graph: ProjectGraph, environment: str, serve: bool = True) -> Sharing:
    """What an apply shares: with a shared state backend, the registry's tags go to its git
    remote (when the repository has it) and, unless Project.spec.remote.sync says
    otherwise, the pipeline's outputs and run-cache go through the DVC remote."""
    spec = graph.project.spec
    config = resolve(graph.root, settings(spec.state, dict(spec.environments), environment))
    shared = config.backend != "local"
    remote = spec.remote
    sync = remote is not None and (remote.sync == "always" or (remote.sync == "auto" and shared))
    return Sharing(
        shared_git_remote(graph.root, config),
        (remote.name, remote.url) if remote is not None and sync else None,
        serve,
    )


def _apply_held(
    wanted: Desired,
    saved: Plan | None,
    backend: Backend,
    held: Held,
    progress: Callable[[str], None],
    confirm: Callable[[Plan], bool] | None,
    serve: bool = True,
    request: Request | None = None,
) -> tuple[Plan, applying.Outcome]:
    crash = applying.Crash()
    crash.point()
    shared = sharing(wanted.graph, wanted.environment, serve)
    if shared.git_remote is not None:
        Registry(wanted.graph.root).fetch(shared.git_remote)
    state = State.read(backend, wanted.environment)
    state.held, state.checkpoint = held, crash.point
    if saved is not None:
        if not state.exists and saved.serial == 0:
            state.lineage = saved.lineage  # a new state: its lineage was made by the plan
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
        current = make_plan(wanted, state, request)
    if current.errors:
        raise UserError("the plan cannot be applied:\n  " + "\n  ".join(current.errors))
    if confirm is not None and current.has_changes and not confirm(current):
        raise UserError("Apply cancelled.")
    crash.point()
    context = applying.Context(
        wanted.graph,
        wanted.resources,
        wanted.files,
        state,
        current.revision,
        progress,
        crash,
        shared,
    )
    outcome = applying.apply(context, current)
    if current.targeting is not None and not current.targeting.complete:
        # A part of the graph: its resources are recorded (each as it was applied), but the
        # revision is not, nor a failure the next full apply or push must not skip over.
        return current, outcome
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
    return Desired(wanted.graph, {}, {}, wanted.environment)


def promote_canary(
    graph: ProjectGraph, name: str, environment: str | None, lock_timeout: float
) -> str:
    """End a local Deployment's canary: its new version takes all the traffic, and the state
    records it (so the next plan sees no drift and the next rollout starts from it)."""
    from dataclasses import replace

    from mlform.layout import server_dir
    from mlform.serving import daemon
    from mlform.serving.config import ServeConfig

    root = graph.root
    env = environment or DEFAULT_ENV
    address = f"deployment.{name}"
    backend = backend_of(graph, env)
    with hold(backend, env, "promote", lock_timeout) as held:
        state = State.read(backend, env)
        state.held = held
        item = state.resources.get(address)
        outputs = (item or {}).get("outputs") or {}
        if item is None or outputs.get("target") != "local":
            raise UserError(
                f"'{address}' is not a local server that `mlform apply` started in "
                f"environment '{env}'"
            )
        folder = server_dir(root, name)
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
