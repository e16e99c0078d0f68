"""The resolved project: valid documents, references followed, defaults applied.

Built only from a workspace without errors; immutable; everything downstream (compile
targets, the reconciler) reads the project through it.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ProjectGraph:
    root: Path
    documents: tuple[SpecDocument, ...]
    warnings: tuple[Diagnostic, ...] = ()  # what validation found worth saying

    @classmethod
    def of(cls, workspace: Workspace, warnings: tuple[Diagnostic, ...] = ()) -> ProjectGraph:
        """The graph of a workspace whose specs passed validation (``validate.load``)."""
        return cls(workspace.root, tuple(workspace.documents), warnings)

    # --- lookups -----------------------------------------------------------------------
    def all(self, kind: type[D]) -> list[D]:
        """Documents of a kind, sorted by name (the order of every rendered file)."""
        found = [cast(D, d.model) for d in self.documents if d.kind == kind.__name__]
        return sorted(found, key=lambda d: d.metadata.name)

    def get(self, kind: type[D], name: str) -> D:
        for doc in self.documents:
            if doc.kind == kind.__name__ and doc.name == name:
                return cast(D, doc.model)
        raise KeyError(f"{kind.__name__} '{name}'")  # validation guarantees references resolve

    def named(self, kind: type[D], name: str) -> D:
        """A document a user named on the command line: a "did you mean" if absent."""
        names = [d.metadata.name for d in self.all(kind)]
        if name not in names:
            raise UserError(f"no {kind.__name__} '{name}'{suggestion(name, names)}")
        return self.get(kind, name)

    def source_of(self, document: Document) -> str:
        for doc in self.documents:
            if doc.model is document:
                return doc.source
        raise KeyError(document.metadata.name)

    @property
    def sources(self) -> list[str]:
        return sorted({d.source for d in self.documents})

    @property
    def project(self) -> Project:
        return self.all(Project)[0]

    @property
    def artifacts(self) -> PurePosixPath:
        return PurePosixPath(self.project.spec.artifacts)

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
