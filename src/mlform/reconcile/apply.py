"""apply: carry out a plan in dependency order, recording state after every step.

Rendered files first; then the pipeline (`dvc repro` of exactly the affected stages),
registration of versions that passed review, deployments (the local server is started or
hot-swapped; cluster targets get their manifests), then monitors and retrain policies.
Deletions run first, dependents before what they depend on. A failure stops what depends
on it, leaves the previous deployment serving, and is reported with what did and did not
happen. State is saved after every resource, so a killed apply loses at most the step it
was in, and the next apply converges.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from mlform.engines.prometheus import Prometheus
from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.reconcile.changes import Change, Plan
from mlform.reconcile.context import Context, Crash, Outcome, fail, step
from mlform.reconcile.deployments import deploy, undeploy
from mlform.reconcile.observe import file_sha
from mlform.reconcile.pipeline import run_pipeline
from mlform.reconcile.publish import publish
from mlform.reconcile.resources import PIPELINE

__all__ = ["Context", "Crash", "Outcome", "apply"]


def apply(ctx: Context, plan: Plan) -> Outcome:
    outcome = Outcome()
    changes = [c for c in plan.changes if c.is_change]
    deployed_before = {
        a: json.loads(json.dumps(item))
        for a, item in ctx.state.resources.items()
        if a.startswith("deployment.")
    }
    for change in reversed([c for c in changes if "delete" in c.actions]):
        if _elsewhere(ctx, change):
            outcome.skipped[change.address] = "left to the checkout that serves it (--no-serve)"
            continue
        step(ctx, outcome, change, partial(_destroy, ctx, change))
    pending = [c for c in changes if "create" in c.actions or c.actions == ["update"]]
    pipeline = [c for c in pending if c.type in PIPELINE and not c.metadata_only]
    for change in pending:
        if change.type == "file":
            step(ctx, outcome, change, partial(_file, ctx, change))
    if pipeline:
        run_pipeline(ctx, outcome, pipeline)
    for change in pending:
        if change.type == "file" or (change.type in PIPELINE and not change.metadata_only):
            continue
        if change.type == "deployment" and _elsewhere(ctx, change):
            outcome.skipped[change.address] = "left to the checkout that serves it (--no-serve)"
            ctx.progress(f"{change.address}: left to the checkout that serves it")
            continue
        step(ctx, outcome, change, _work(ctx, change))
    _publish(ctx, outcome, changes, deployed_before)
    rules = [c for c in changes if c.type == "file" and c.name.endswith(".rules.yml")]
    if rules and not any(c.type == "monitor" for c in pending):
        try:  # rules re-rendered (a new mlform) while the Monitors stayed the same
            prometheus = _prometheus(ctx)
            if prometheus:
                ctx.progress(prometheus.reload())
        except UserError as error:
            fail(ctx, outcome, rules[0], error.message)
    return outcome


def _publish(ctx: Context, outcome: Outcome, changes: list[Change], before: dict[str, Any]) -> None:
    try:
        publish(ctx, outcome, before)
    except UserError as error:  # the next apply renders and publishes them again
        for change in changes:
            if change.type == "deployment" and change.address in outcome.applied:
                outcome.applied.remove(change.address)
                fail(ctx, outcome, change, f"not published: {error.message}")


def _work(ctx: Context, change: Change) -> Callable[[], None]:
    """What applying a resource after the pipeline does."""
    resource = ctx.resources[change.address]
    if change.metadata_only:
        return partial(ctx.record, resource)
    if change.type == "deployment":
        return partial(deploy, ctx, change)
    if change.type == "monitor":
        return partial(_monitor, ctx, change)
    return partial(ctx.record, resource, {})  # retrain: `mlform retrain check` acts on it


def _elsewhere(ctx: Context, change: Change) -> bool:
    """A local server this checkout does not run (apply --no-serve)."""
    resource = ctx.resources.get(change.address)
    return not ctx.sharing.serve and resource is not None and resource.spec.get("target") == "local"


# --- monitors ------------------------------------------------------------------------------
def _prometheus(ctx: Context) -> Prometheus | None:
    return Prometheus.of(ctx.graph.project.spec.monitoring.prometheus_url)


def _monitor(ctx: Context, change: Change) -> None:
    """The Monitor's rules are file resources (written before this); tell Prometheus."""
    from mlform.spec import Monitor
    from mlform.targets.prometheus import rules_dir

    monitor = ctx.graph.get(Monitor, change.name)
    folder = rules_dir(ctx.graph, monitor)
    outputs: dict[str, Any] = {"rules": f"{folder}/{change.name}.rules.yml"}
    prometheus = _prometheus(ctx)
    if prometheus:
        outputs["prometheus"] = prometheus.reload()
    ctx.record(ctx.resources[change.address], outputs)


# --- files -------------------------------------------------------------------------------
def _file(ctx: Context, change: Change) -> None:
    rendered = ctx.files[change.name]
    write_all([(ctx.root / rendered.path, rendered.data)])
    ctx.record(ctx.resources[change.address], {"sha256": file_sha(ctx.root / rendered.path)})


def _destroy(ctx: Context, change: Change) -> None:
    recorded = ctx.state.resources.get(change.address, {})
    if change.type == "deployment":
        undeploy(ctx, recorded)
    elif change.type == "file":
        (ctx.root / change.name).unlink(missing_ok=True)
    ctx.crash.point()
    ctx.state.resources.pop(change.address, None)
    ctx.state.save()
