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

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from mlform.engines.dvc import Dvc
from mlform.errors import UserError
from mlform.fsutil import write_all
from mlform.layout import Layout
from mlform.project import ProjectGraph
from mlform.reconcile.observe import file_sha, files_stats
from mlform.reconcile.plan import Change, Plan
from mlform.reconcile.resources import PIPELINE, Resource
from mlform.reconcile.state import State, now
from mlform.spec import Dataset, Deployment, Model, Training
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


@dataclass
class Context:
    graph: ProjectGraph
    resources: dict[str, Resource]
    files: dict[str, RenderedFile]
    state: State
    revision: str | None
    progress: Progress
    crash: Crash = field(default_factory=Crash)

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
            "applied_at": now(),
        }
        self.crash.point()
        self.state.save()
        self.crash.point()


def _version(state: State, address: str) -> str | None:
    version = (state.resources.get(address, {}).get("outputs") or {}).get("version")
    return str(version) if version is not None else None


def apply(ctx: Context, plan: Plan) -> Outcome:
    outcome = Outcome()
    changes = [c for c in plan.changes if c.is_change]
    for change in reversed([c for c in changes if "delete" in c.actions]):
        _step(ctx, outcome, change, partial(_destroy, ctx, change))
    pending = [c for c in changes if "create" in c.actions or c.actions == ["update"]]
    pipeline = [c for c in pending if c.type in PIPELINE and not c.metadata_only]
    for change in pending:
        if change.type == "file":
            _step(ctx, outcome, change, partial(_file, ctx, change))
    if pipeline:
        _pipeline(ctx, outcome, pipeline)
    for change in pending:
        if change.type == "file" or (change.type in PIPELINE and not change.metadata_only):
            continue
        if change.metadata_only:
            _step(ctx, outcome, change, partial(ctx.record, ctx.resources[change.address]))
        elif change.type == "deployment":
            _step(ctx, outcome, change, partial(_deploy, ctx, change))
        elif change.type == "monitor":
            _step(ctx, outcome, change, partial(_monitor, ctx, change))
        else:  # retrain: recorded; `mlform retrain check` acts on it
            _step(ctx, outcome, change, partial(ctx.record, ctx.resources[change.address], {}))
    rules = [c for c in changes if c.type == "file" and c.name.endswith(".rules.yml")]
    if rules and not any(c.type == "monitor" for c in pending) and _prometheus(ctx):
        try:  # rules re-rendered (a new mlform) while the Monitors stayed the same
            ctx.progress(_reload_prometheus(ctx))
        except UserError as error:
            _fail(ctx, outcome, rules[0], error.message)
    return outcome


# --- monitors ------------------------------------------------------------------------------
def _prometheus(ctx: Context) -> str | None:
    return ctx.graph.project.spec.monitoring.prometheus_url


def _monitor(ctx: Context, change: Change) -> None:
    """The Monitor's rules are file resources (written before this); tell Prometheus."""
    from mlform.spec import Monitor
    from mlform.targets.prometheus import rules_dir

    monitor = ctx.graph.get(Monitor, change.name)
    folder = rules_dir(ctx.graph, monitor)
    outputs: dict[str, Any] = {"rules": f"{folder}/{change.name}.rules.yml"}
    if _prometheus(ctx):
        outputs["prometheus"] = _reload_prometheus(ctx)
    ctx.record(ctx.resources[change.address], outputs)


def _reload_prometheus(ctx: Context) -> str:
    import urllib.error
    import urllib.request

    url = f"{str(_prometheus(ctx)).rstrip('/')}/-/reload"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10):
            pass
    except urllib.error.HTTPError as error:
        hint = " (start Prometheus with --web.enable-lifecycle)" if error.code in (403, 405) else ""
        raise UserError(
            f"Prometheus refused to reload its rules: POST {url}: HTTP {error.code}{hint}"
        ) from None
    except OSError as error:
        raise UserError(
            f"could not ask Prometheus to reload its rules: POST {url}: {error}"
        ) from None
    return f"Prometheus reloaded its rules ({url})"


def _blocked(ctx: Context, outcome: Outcome, change: Change) -> str | None:
    for dependency in change.depends_on:
        if dependency in outcome.failed or dependency in outcome.skipped:
            return f"not applied: {dependency} failed"
    return None


def _step(ctx: Context, outcome: Outcome, change: Change, work: Callable[[], None]) -> None:
    why = _blocked(ctx, outcome, change)
    if why:
        outcome.skipped[change.address] = why
        ctx.progress(f"{change.address}: skipped ({why})")
        return
    ctx.progress(f"{change.address}: {_doing(change)}…")
    try:
        work()
    except UserError as error:
        _fail(ctx, outcome, change, error.message)
        return
    outcome.applied.append(change.address)
    ctx.progress(f"{change.address}: {_done(change)}")


def _fail(ctx: Context, outcome: Outcome, change: Change, message: str) -> None:
    outcome.failed[change.address] = message
    resource = ctx.resources.get(change.address)
    if resource is not None:
        ctx.record(resource, error=message)
    ctx.progress(f"{change.address}: FAILED: {message}")


def _doing(change: Change) -> str:
    return (
        {"create": "creating", "update": "updating", "delete": "destroying"}[change.actions[0]]
        if len(change.actions) == 1
        else "replacing"
    )


def _done(change: Change) -> str:
    return (
        {"create": "created", "update": "updated", "delete": "destroyed"}[change.actions[0]]
        if len(change.actions) == 1
        else "replaced"
    )


# --- files -------------------------------------------------------------------------------
def _file(ctx: Context, change: Change) -> None:
    rendered = ctx.files[change.name]
    write_all([(ctx.root / rendered.path, rendered.data)])
    ctx.record(ctx.resources[change.address], {"sha256": file_sha(ctx.root / rendered.path)})


# --- the pipeline ------------------------------------------------------------------------
def _stage_paths(graph: ProjectGraph, resource: Resource) -> list[str]:
    """Inputs and outputs whose size and mtime say whether the resource changed outside."""
    layout = Layout(graph.artifacts)
    if resource.type == "dataset":
        data = layout.dataset(resource.name)
        source = graph.get(Dataset, resource.name).spec.source.path
        return [source, *(str(p) for p in (data.checks, data.train, data.test, data.profile))]
    if resource.type == "training":
        trained = layout.training(resource.name)
        return [str(trained.pipeline), str(trained.predictions), str(trained.metrics)]
    if resource.type == "model":
        model = layout.model(resource.name)
        return [str(model.onnx), str(model.review)]
    return []


def _targets(graph: ProjectGraph, changes: list[Change]) -> list[tuple[str, list[str]]]:
    """(stage to reproduce, pipeline resources it brings up to date) in order: profiles
    first (monitoring's reference; no model needs them), then each model, each training
    without a model, each dataset without a training."""
    addresses = {c.address for c in changes}
    covered: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    for dataset in graph.all(Dataset):
        address = f"dataset.{dataset.metadata.name}"
        if address in addresses:
            out.append((f"profile-{dataset.metadata.name}", [address]))
    for model in graph.all(Model):
        training = graph.training_of(model)
        chain = [
            f"dataset.{graph.dataset_of(training).metadata.name}",
            f"featureset.{training.spec.features}",
            f"training.{training.metadata.name}",
            f"model.{model.metadata.name}",
        ]
        if addresses & set(chain):
            out.append((f"review-{model.metadata.name}", [a for a in chain if a in addresses]))
            covered |= set(chain)
    for training in graph.all(Training):
        chain = [
            f"dataset.{graph.dataset_of(training).metadata.name}",
            f"featureset.{training.spec.features}",
            f"training.{training.metadata.name}",
        ]
        rest = [a for a in chain if a in addresses and a not in covered]
        if rest:
            out.append((f"evaluate-{training.metadata.name}", rest))
            covered |= set(chain)
    for dataset in graph.all(Dataset):
        address = f"dataset.{dataset.metadata.name}"
        if address in addresses and address not in covered:
            out.append((f"split-{dataset.metadata.name}", [address]))
    for change in changes:  # a feature set no training uses: nothing to run
        if change.type == "featureset" and change.address not in covered:
            out.append(("", [change.address]))
    return out


def _pipeline(ctx: Context, outcome: Outcome, changes: list[Change]) -> None:
    by_address = {c.address: c for c in changes}
    for stage, addresses in _targets(ctx.graph, changes):
        blocked = [a for a in addresses if _blocked(ctx, outcome, by_address[a])]
        if blocked:
            for address in addresses:
                outcome.skipped[address] = f"not applied: {', '.join(blocked)} blocked"
            continue
        if stage:
            ctx.progress(f"dvc repro {stage}…")
            ctx.crash.point()
            failure = Dvc(ctx.root).repro(stage)
            ctx.crash.point()
            if failure is not None:
                failed_stage, message = failure.stage, failure.message
                owner = next(
                    (a for a in addresses if _owns(a, failed_stage)),
                    addresses[-1] if addresses else "",
                )
                done, rest = _split_at(addresses, owner)
                _record_pipeline(ctx, outcome, by_address, done)
                for address in rest:
                    if address == owner:
                        _fail(ctx, outcome, by_address[address], message)
                    else:
                        outcome.skipped[address] = f"not applied: {owner} failed"
                continue
        _record_pipeline(ctx, outcome, by_address, addresses)


def _split_at(addresses: list[str], owner: str) -> tuple[list[str], list[str]]:
    """What the failed stage's owner depends on completed; it and the rest did not. A
    feature set counts as done only with its training (its params are read by train)."""
    if owner not in addresses:
        return [], addresses
    index = addresses.index(owner)
    done = [
        a
        for a in addresses[:index]
        if not (a.startswith("featureset.") and owner.startswith("training."))
    ]
    return done, [a for a in addresses if a not in done]


def _record_pipeline(
    ctx: Context, outcome: Outcome, by_address: dict[str, Change], addresses: list[str]
) -> None:
    for address in addresses:
        resource = ctx.resources[address]
        outputs: dict[str, Any] = {
            "stats": files_stats(ctx.root, _stage_paths(ctx.graph, resource))
        }
        if resource.type == "model":
            try:
                outputs.update(_register(ctx, resource))
            except UserError as error:
                _fail(ctx, outcome, by_address[address], error.message)
                continue
        ctx.record(resource, outputs)
        if address in outcome.applied:
            continue  # a dataset brought up to date by its profile, then by its model's stages
        outcome.applied.append(address)
        ctx.progress(
            f"{address}: {_done(by_address[address])}"
            + (f" ({outputs['version']})" if "version" in outputs else "")
        )


def _owns(address: str, stage: str) -> bool:
    kind, _, name = address.partition(".")
    prefixes = {
        "dataset": ("check-", "profile-", "split-"),
        "training": ("train-", "evaluate-"),
        "model": ("export-", "review-"),
    }
    return any(stage == f"{p}{name}" for p in prefixes.get(kind, ()))


def _register(ctx: Context, resource: Resource) -> dict[str, Any]:
    from mlform.models import register

    done = register(ctx.graph, resource.name, from_apply=True)
    ctx.crash.point()
    return {
        "version": done.version.version,
        "sha256": done.version.record.get("sha256"),
        "registered": done.reason,
    }


# --- deployments -------------------------------------------------------------------------
def _deploy(ctx: Context, change: Change) -> None:
    from mlform.layout import server_dir
    from mlform.serving import daemon
    from mlform.serving.config import ServeConfig
    from mlform.serving.deploy import server_config

    resource = ctx.resources[change.address]
    deployment = ctx.graph.get(Deployment, resource.name)
    current = (
        ctx.state.resources.get(f"model.{deployment.spec.model}", {})
        .get("outputs", {})
        .get("version")
    )
    if ctx.graph.target(deployment) == "local":
        folder = server_dir(ctx.root, resource.name)
        previous = (
            ServeConfig.load(folder / "config.json") if (folder / "config.json").exists() else None
        )
        config = server_config(ctx.graph, deployment, previous, current=current)
        ctx.crash.point()
        running = daemon.apply(folder, config, ctx.crash.point)
        ctx.crash.point()
        models = [{"version": m.version, "weight": m.weight} for m in config.models]
        ctx.record(
            resource, {"target": "local", "url": running.url, "pid": running.pid, "models": models}
        )
        ctx.progress(
            f"{change.address}: serving {', '.join(f'{m.version} ({m.weight}%)' for m in config.models)} at {running.url}"
        )
        return
    from mlform.registry import Registry
    from mlform.targets.serving import render_deployment

    releases = Registry(ctx.root).releases(deployment.spec.model)
    rendered, version = render_deployment(ctx.graph, deployment, releases, current)
    write_all((ctx.root / f.path, f.data) for f in rendered)
    before = (ctx.state.resources.get(change.address, {}).get("outputs") or {}).get("files") or {}
    _remove(
        ctx.root, [p for p in before if p not in {f.path for f in rendered}]
    )  # an older version's files
    ctx.record(
        resource,
        {
            "target": ctx.graph.target(deployment),
            "version": version,
            "files": {f.path: file_sha(ctx.root / f.path) for f in rendered},
        },
    )


def _undeploy(ctx: Context, address: str, recorded: dict[str, Any]) -> None:
    from mlform.layout import server_dir
    from mlform.serving import daemon

    outputs = recorded.get("outputs") or {}
    if outputs.get("target") == "local":
        daemon.stop(server_dir(ctx.root, recorded["name"]))
    _remove(ctx.root, list(outputs.get("files") or {}))


def _remove(root: Path, paths: list[str]) -> None:
    """Delete rendered files, and the folders they leave empty."""
    for path in paths:
        target = root / path
        target.unlink(missing_ok=True)
        folder = target.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _destroy(ctx: Context, change: Change) -> None:
    recorded = ctx.state.resources.get(change.address, {})
    if change.type == "deployment":
        _undeploy(ctx, change.address, recorded)
    elif change.type == "file":
        (ctx.root / change.name).unlink(missing_ok=True)
    ctx.crash.point()
    ctx.state.resources.pop(change.address, None)
    ctx.state.save()
