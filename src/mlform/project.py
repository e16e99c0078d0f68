"""The resolved project: valid documents, references followed, defaults applied.

Built only from a workspace without errors; immutable; everything downstream (compile
targets, the reconciler) reads the project through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TypeVar, cast

from mlform.catalog.estimators import EstimatorInfo, lookup
from mlform.diagnostics import Diagnostic
from mlform.errors import UserError
from mlform.schema_errors import suggestion
from mlform.spec import (
    Dataset,
    Deployment,
    FeatureSet,
    Model,
    Monitor,
    Project,
    RetrainPolicy,
    Training,
)
from mlform.spec.base import Document
from mlform.spec.project import DeploymentTarget
from mlform.workspace import SpecDocument, Workspace

D = TypeVar("D", bound=Document)
PIPELINE_KINDS = frozenset({"Project", "Dataset", "FeatureSet", "Training", "Model"})


@dataclass(frozen=True)
class ProjectGraph:
    root: Path
    documents: tuple[SpecDocument, ...]
    warnings: tuple[Diagnostic, ...] = ()  # what validation found worth saying
    environment: str | None = None  # the environment whose overlays are applied
    overlaid: frozenset[str] = frozenset()  # the kinds its overlays patched or added

    @classmethod
    def of(cls, workspace: Workspace, warnings: tuple[Diagnostic, ...] = ()) -> ProjectGraph:
        """The graph of a workspace whose specs passed validation (``validate.load``)."""
        return cls(
            workspace.root,
            tuple(workspace.documents),
            warnings,
            workspace.environment,
            workspace.overlaid,
        )

    # --- lookups (indexed once: every one is O(1) or a copy of a list) --------------------
    @cached_property
    def _by_kind(self) -> dict[str, list[Document]]:
        out: dict[str, list[Document]] = {}
        for doc in self.documents:
            out.setdefault(doc.kind, []).append(doc.model)
        for models in out.values():
            models.sort(key=lambda d: d.metadata.name)
        return out

    @cached_property
    def _by_name(self) -> dict[tuple[str, str], SpecDocument]:
        return {(doc.kind, doc.name): doc for doc in self.documents}

    @cached_property
    def _by_model(self) -> dict[int, SpecDocument]:
        return {id(doc.model): doc for doc in self.documents}

    def all(self, kind: type[D]) -> list[D]:
        """Documents of a kind, sorted by name (the order of every rendered file)."""
        return cast(list[D], list(self._by_kind.get(kind.__name__, ())))

    def get(self, kind: type[D], name: str) -> D:
        doc = self._by_name.get((kind.__name__, name))
        if doc is None:  # validation guarantees that references resolve
            raise KeyError(f"{kind.__name__} '{name}'")
        return cast(D, doc.model)

    def named(self, kind: type[D], name: str) -> D:
        """A document a user named on the command line: a "did you mean" if absent."""
        names = [d.metadata.name for d in self.all(kind)]
        if name not in names:
            raise UserError(f"no {kind.__name__} '{name}'{suggestion(name, names)}")
        return self.get(kind, name)

    def source_of(self, document: Document) -> str:
        doc = self._by_model.get(id(document))
        if doc is None or doc.model is not document:
            raise KeyError(document.metadata.name)
        return doc.source

    @property
    def sources(self) -> list[str]:
        return sorted({d.source for d in self.documents})

    @property
    def project(self) -> Project:
        return self.all(Project)[0]

    # --- where an environment's rendered files and outputs go ----------------------------
    # An environment whose overlays patch what the pipeline is made of (the Project, a
    # Dataset, FeatureSet, Training or Model) has a pipeline of its own: pipelines/<env>/
    # holds its dvc.yaml and params.yaml, <artifacts>/<env>/ its outputs; one that patches a
    # Monitor has its rules in <rules_dir>/<env>/. The others share the default's files, so
    # applying one environment never rewrites another's.
    @property
    def pipeline_env(self) -> str | None:
        return self.environment if self.overlaid & PIPELINE_KINDS else None

    @property
    def monitoring_env(self) -> str | None:
        return self.environment if "Monitor" in self.overlaid else None

    @property
    def pipeline_dir(self) -> PurePosixPath:
        env = self.pipeline_env
        return PurePosixPath("pipelines") / env if env else PurePosixPath(".")

    @property
    def artifacts(self) -> PurePosixPath:
        base = PurePosixPath(self.project.spec.artifacts)
        env = self.pipeline_env
        return base / env if env else base

    # --- the lifecycle chain -----------------------------------------------------------
    def features_of(self, training: Training) -> FeatureSet:
        return self.get(FeatureSet, training.spec.features)

    def dataset_of(self, training: Training) -> Dataset:
        name = training.spec.dataset or self.features_of(training).spec.dataset
        return self.get(Dataset, name)

    def training_of(self, model: Model) -> Training:
        return self.get(Training, model.spec.training)

    def model_of(self, deployment: Deployment) -> Model:
        return self.get(Model, deployment.spec.model)

    def deployment_of(self, monitor: Monitor) -> Deployment:
        return self.get(Deployment, monitor.spec.deployment)

    def estimator(self, training: Training) -> EstimatorInfo:
        info = lookup(training.spec.estimator.class_)
        assert info is not None, "validation admits only allowlisted estimators"
        return info

    # --- defaults ----------------------------------------------------------------------
    def seed(self, explicit: int | None) -> int:
        return explicit if explicit is not None else self.project.spec.defaults.seed

    def opset(self, model: Model) -> int:
        return model.spec.export.opset or self.project.spec.defaults.onnx_opset

    def target(self, deployment: Deployment) -> DeploymentTarget:
        return deployment.spec.target or self.project.spec.defaults.target

    def retrain_policies_of(self, model: Model) -> list[RetrainPolicy]:
        return [p for p in self.all(RetrainPolicy) if p.spec.model == model.metadata.name]
