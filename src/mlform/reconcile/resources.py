"""Every spec becomes addressed resources with dependencies; rendered files too.

A resource's ``spec`` is what, when it changes, makes work (retraining, redeploying); its
``meta`` (labels, description, owner) is recorded but changes nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.project import ProjectGraph

ORDER = ("file", "dataset", "featureset", "training", "model", "deployment", "monitor", "retrain")
PIPELINE = ("dataset", "featureset", "training", "model")


def digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    spec: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    prevent_destroy: bool = False

    @property
    def address(self) -> str:
        return f'file["{self.name}"]' if self.type == "file" else f"{self.type}.{self.name}"

    @cached_property
    def spec_hash(self) -> str:
        return digest(self.spec)

    @cached_property
    def meta_hash(self) -> str:
        return digest(self.meta)

    def sharing(self, record: Mapping[str, Any] | None) -> Resource:
        """This resource with the recorded spec and metadata in place of its own when their
        digests say they are the same: in a big plan most are, and one copy of each stays
        in memory instead of two."""
        if (
            record is None
            or record.get("spec_hash") != self.spec_hash
            or record.get("meta_hash") != self.meta_hash
            or not isinstance(record.get("spec"), dict)
            or not isinstance(record.get("meta"), dict)
        ):
            return self
        shared = replace(self, spec=record["spec"], meta=record["meta"])
        shared.__dict__.update(spec_hash=self.spec_hash, meta_hash=self.meta_hash)
        return shared


def _meta(document: Any) -> dict[str, Any]:
    metadata = document.metadata
    return {
        "labels": dict(metadata.labels),
        "description": metadata.description,
        "owner": metadata.owner,
    }


def _spec(document: Any) -> dict[str, Any]:
    data: dict[str, Any] = document.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    for name, default in _ADDED_SINCE_0_1.get(document.kind, {}).items():
        if data.get(name) == default:
            del data[name]  # a field a newer mlform added, at its default: no change to plan
    return data


# Spec fields added after states were first written, with their defaults: left out of a
# resource's spec while at their default, so upgrading mlform does not plan an update of
# every resource of the kind (a state written before has no such field).
_ADDED_SINCE_0_1: dict[str, dict[str, Any]] = {
    "Deployment": {"prediction_log": {"sample": 1.0, "design_rate": 100.0}},
    "FeatureSet": {"derived": {}},
}


def desired(
    graph: ProjectGraph,
    files: dict[str, str],
    environment: str | None = None,
    recorded: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Resource]:
    """The resources the specs declare, by address. ``files`` maps rendered paths to sha256;
    ``recorded``, the state's records: an unchanged resource shares its record's spec."""
    # The spec models here, not at the top: `mlform show` reads a saved plan (Resource,
    # ORDER) and has no use for pydantic.
    from mlform.spec import Dataset, Deployment, FeatureSet, Model, Monitor, RetrainPolicy, Training

    protected = False
    if environment:
        env = graph.project.spec.environments.get(environment)
        protected = bool(env and env.prevent_destroy)
    out: dict[str, Resource] = {}

    def add(resource: Resource) -> None:
        address = resource.address
        out[address] = resource.sharing(recorded.get(address)) if recorded else resource

    for path, sha in sorted(files.items()):
        add(Resource("file", path, {"sha256": sha}))
    for d in graph.all(Dataset):
        add(Resource("dataset", d.metadata.name, _spec(d), _meta(d), (), protected))
    for f in graph.all(FeatureSet):
        add(
            Resource(
                "featureset",
                f.metadata.name,
                _spec(f),
                _meta(f),
                (f"dataset.{f.spec.dataset}",),
                protected,
            )
        )
    for t in graph.all(Training):
        spec = {
            **_spec(t),
            "dataset": graph.dataset_of(t).metadata.name,
            "seed": graph.seed(t.spec.seed),
        }
        depends = (f"dataset.{spec['dataset']}", f"featureset.{t.spec.features}")
        add(Resource("training", t.metadata.name, spec, _meta(t), depends, protected))
    for m in graph.all(Model):
        spec = _spec(m)
        spec["export"]["opset"] = graph.opset(m)
        add(
            Resource(
                "model",
                m.metadata.name,
                spec,
                _meta(m),
                (f"training.{m.spec.training}",),
                protected,
            )
        )
    for dep in graph.all(Deployment):
        if dep.spec.environments and environment not in dep.spec.environments:
            continue  # declared for other environments only
        spec = {**_spec(dep), "target": graph.target(dep)}
        add(
            Resource(
                "deployment",
                dep.metadata.name,
                spec,
                _meta(dep),
                (f"model.{dep.spec.model}",),
                protected or dep.spec.prevent_destroy,
            )
        )
    for mon in graph.all(Monitor):
        if f"deployment.{mon.spec.deployment}" in out:
            add(
                Resource(
                    "monitor",
                    mon.metadata.name,
                    _spec(mon),
                    _meta(mon),
                    (f"deployment.{mon.spec.deployment}",),
                    protected,
                )
            )
    for p in graph.all(RetrainPolicy):
        add(
            Resource(
                "retrain",
                p.metadata.name,
                _spec(p),
                _meta(p),
                (f"model.{p.spec.model}",),
                protected,
            )
        )
    return out
