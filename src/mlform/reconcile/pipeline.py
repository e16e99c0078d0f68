"""The pipeline part of an apply: the DVC stages that bring datasets, feature sets,
trainings and models up to date, in dependency order, and the registration of every model
whose review passed."""

from __future__ import annotations

from typing import Any

from mlform.engines.dvc import Dvc, Failure
from mlform.errors import UserError
from mlform.layout import Layout
from mlform.project import ProjectGraph
from mlform.reconcile.changes import Change
from mlform.reconcile.context import Context, Outcome, blocked, done, fail
from mlform.reconcile.observe import Contents
from mlform.reconcile.resources import Resource
from mlform.spec import Dataset, Model, Training
from mlform.targets.dvc import stage_address


def _stage_files(graph: ProjectGraph, resource: Resource) -> tuple[list[str], list[str]]:
    """(inputs, outputs) whose content says whether the resource changed outside mlform."""
    layout = Layout(graph.artifacts)
    if resource.type == "dataset":
        data = layout.dataset(resource.name)
        dataset = graph.get(Dataset, resource.name)
        outputs = [data.checks, data.train, data.test, data.profile]
        if dataset.spec.cleaning is not None:
            outputs = [data.cleaned, data.cleaning, *outputs]
        return [dataset.spec.source.path], [str(p) for p in outputs]
    if resource.type == "training":
        trained = layout.training(resource.name)
        return [], [str(trained.pipeline), str(trained.predictions), str(trained.metrics)]
    if resource.type == "model":
        model = layout.model(resource.name)
        return [], [str(model.onnx), str(model.review)]
    return [], []


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


def run_pipeline(ctx: Context, outcome: Outcome, changes: list[Change]) -> None:
    """`dvc repro` of exactly the stages the changes need, then each resource recorded
    (and each reviewed model registered); a failure is attributed to the stage's owner."""
    by_address = {c.address: c for c in changes}
    dvc = Dvc(ctx.root)
    remote = ctx.sharing.dvc_remote
    if remote is not None:
        dvc.use_remote(*remote)
    for stage, addresses in _targets(ctx.graph, changes):
        held = [a for a in addresses if blocked(ctx, outcome, by_address[a])]
        if held:
            for address in addresses:
                outcome.skipped[address] = f"not applied: {', '.join(held)} blocked"
            continue
        if stage:
            ctx.progress(f"dvc repro {stage}…")
            ctx.crash.point()
            address = stage_address(ctx.graph, stage)
            reproduced = dvc.repro(address, pull=remote is not None)
            if reproduced.summary():
                ctx.progress(f"dvc repro {stage}: {reproduced.summary()}")
            failure = reproduced.failure
            if failure is None and remote is not None:
                failure = _push(dvc, address, remote[0])
            ctx.crash.point()
            if failure is not None:
                failed_stage, message = failure.stage, failure.message
                owner = next(
                    (a for a in addresses if _owns(a, failed_stage)),
                    addresses[-1] if addresses else "",
                )
                completed, rest = _split_at(addresses, owner)
                _record_pipeline(ctx, outcome, by_address, completed)
                for address in rest:
                    if address == owner:
                        fail(ctx, outcome, by_address[address], message)
                    else:
                        outcome.skipped[address] = f"not applied: {owner} failed"
                continue
        _record_pipeline(ctx, outcome, by_address, addresses)


def _push(dvc: Dvc, stage: str, remote: str) -> Failure | None:
    """Outputs and run-cache to the remote, so every other runner restores them."""
    try:
        dvc.push(stage)
    except UserError as error:
        return Failure(
            stage, f"could not push the outputs to the DVC remote '{remote}': {error.message}"
        )
    return None


def _split_at(addresses: list[str], owner: str) -> tuple[list[str], list[str]]:
    """What the failed stage's owner depends on completed; it and the rest did not. A
    feature set counts as done only with its training (its params are read by train)."""
    if owner not in addresses:
        return [], addresses
    index = addresses.index(owner)
    finished = [
        a
        for a in addresses[:index]
        if not (a.startswith("featureset.") and owner.startswith("training."))
    ]
    return finished, [a for a in addresses if a not in finished]


def _record_pipeline(
    ctx: Context, outcome: Outcome, by_address: dict[str, Change], addresses: list[str]
) -> None:
    contents = Contents(ctx.root)
    for address in addresses:
        resource = ctx.resources[address]
        outputs: dict[str, Any] = {"files": contents.record(*_stage_files(ctx.graph, resource))}
        if resource.type == "model":
            try:
                outputs.update(_register(ctx, resource))
            except UserError as error:
                fail(ctx, outcome, by_address[address], error.message)
                continue
        ctx.record(resource, outputs)
        contents.save()
        if address in outcome.applied:
            continue  # a dataset brought up to date by its profile, then by its model's stages
        outcome.applied.append(address)
        ctx.progress(
            f"{address}: {done(by_address[address])}"
            + (f" ({outputs['version']})" if "version" in outputs else "")
        )


def _owns(address: str, stage: str) -> bool:
    stage = stage.rsplit(":", 1)[-1]  # pipelines/prod/dvc.yaml:train-x
    kind, _, name = address.partition(".")
    prefixes = {
        "dataset": ("clean-", "check-", "profile-", "split-"),
        "training": ("train-", "evaluate-"),
        "model": ("export-", "review-"),
    }
    return any(stage == f"{p}{name}" for p in prefixes.get(kind, ()))


def _register(ctx: Context, resource: Resource) -> dict[str, Any]:
    from mlform.models import register

    registered = register(ctx.graph, resource.name, from_apply=True, push_to=ctx.sharing.git_remote)
    ctx.crash.point()
    return {
        "version": registered.version.version,
        "sha256": registered.version.record.get("sha256"),
        "registered": registered.reason,
    }
