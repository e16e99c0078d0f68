"""Names are unique per kind and every reference resolves (with a 'did you mean')."""

from __future__ import annotations

from collections.abc import Iterator

from mlform.checks.context import Context
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import (
    Dataset,
    Deployment,
    FeatureSet,
    Model,
    Monitor,
    RetrainPolicy,
    Training,
)
from mlform.spec.base import Document
from mlform.workspace import SpecDocument


def check_unique_names(ctx: Context) -> None:
    seen: dict[tuple[str, str], SpecDocument] = {}
    for doc in ctx.workspace.documents:
        key = (doc.kind, doc.name)
        first = seen.setdefault(key, doc)
        if first is not doc:
            line = first.raw.mark(("metadata", "name"))[0]
            ctx.report(
                doc,
                ("metadata", "name"),
                "E201",
                f"another {doc.kind} is named '{doc.name}' ({first.raw.file}:{line}); "
                "names are unique per kind",
            )


def _references(ctx: Context) -> Iterator[tuple[SpecDocument, Loc, type[Document], str]]:
    """(document, field, kind referred to, name) for every reference in the specs."""
    for doc, fs in ctx.docs(FeatureSet):
        yield doc, ("spec", "dataset"), Dataset, fs.spec.dataset
    for doc, tr in ctx.docs(Training):
        if tr.spec.dataset is not None:
            yield doc, ("spec", "dataset"), Dataset, tr.spec.dataset
        yield doc, ("spec", "features"), FeatureSet, tr.spec.features
    for doc, model in ctx.docs(Model):
        yield doc, ("spec", "training"), Training, model.spec.training
    for doc, dep in ctx.docs(Deployment):
        yield doc, ("spec", "model"), Model, dep.spec.model
    for doc, mon in ctx.docs(Monitor):
        yield doc, ("spec", "deployment"), Deployment, mon.spec.deployment
    for doc, policy in ctx.docs(RetrainPolicy):
        yield doc, ("spec", "model"), Model, policy.spec.model
        for i, trigger in enumerate(policy.spec.triggers):
            loc: Loc = ("spec", "triggers", i)
            if trigger.monitor_alert:
                yield (
                    doc,
                    (*loc, "monitor_alert", "monitor"),
                    Monitor,
                    trigger.monitor_alert.monitor,
                )
            if trigger.metric_below:
                yield doc, (*loc, "metric_below", "monitor"), Monitor, trigger.metric_below.monitor
            if trigger.new_data:
                yield doc, (*loc, "new_data", "dataset"), Dataset, trigger.new_data.dataset
        if policy.spec.promotion.deployment:
            target = policy.spec.promotion.deployment
            yield doc, ("spec", "promotion", "deployment"), Deployment, target


def check_references(ctx: Context) -> None:
    if ctx.workspace.unreadable:
        return  # the unreadable file may define what these refer to; fix it first
    for doc, loc, kind, name in _references(ctx):
        broken = ctx.workspace.broken
        maybe = {(kind.__name__, name), ("*", name), (kind.__name__, "*"), ("*", "*")}
        if ctx.get(kind, name) is None and not (maybe & broken):
            candidates = ctx.names(kind)
            hint = suggestion(name, candidates) or (
                f"; no {kind.__name__} is defined" if not candidates else ""
            )
            ctx.report(doc, loc, "E202", f"{kind.__name__} '{name}' is not defined{hint}")
    _check_environments(ctx)


def _check_environments(ctx: Context) -> None:
    project = ctx.project
    if project is None:
        return  # missing or invalid: reported already
    declared = list(project.spec.environments)
    for doc, dep in ctx.docs(Deployment):
        for i, env in enumerate(dep.spec.environments):
            if env not in declared:
                hint = suggestion(env, declared) or (
                    "; the Project declares no environments" if not declared else ""
                )
                ctx.report(
                    doc,
                    ("spec", "environments", i),
                    "E202",
                    f"environment '{env}' is not declared in the Project{hint}",
                )
