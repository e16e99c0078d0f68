"""What every check needs: the documents by kind and name, and a way to report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, cast

from mlform.catalog.estimators import EstimatorInfo, lookup
from mlform.diagnostics import Diagnostic, Diagnostics, Severity, format_path
from mlform.loader import Loc
from mlform.spec import Dataset, FeatureSet, Model, Project, Training
from mlform.spec.base import Document
from mlform.workspace import SpecDocument, Workspace

D = TypeVar("D", bound=Document)


@dataclass
class Context:
    workspace: Workspace
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    by_kind: dict[str, dict[str, SpecDocument]] = field(default_factory=dict)
    # what one run of the checks found out about the files, by path: a monorepo's Datasets
    # name the same few files thousands of times
    seen: dict[tuple[str, str], object] = field(default_factory=dict)
    listed: dict[str, list[SpecDocument]] = field(default_factory=dict)  # every one, by kind

    def __post_init__(self) -> None:
        for doc in self.workspace.documents:
            kind = doc.kind
            self.listed.setdefault(kind, []).append(doc)
            self.by_kind.setdefault(kind, {}).setdefault(doc.name, doc)

    def docs(self, kind: type[D]) -> list[tuple[SpecDocument, D]]:
        """Documents of a kind with their typed models, in file order."""
        return [(d, cast(D, d.model)) for d in self.listed.get(kind.__name__, ())]

    def get(self, kind: type[D], name: str | None) -> D | None:
        if name is None:
            return None
        doc = self.by_kind.get(kind.__name__, {}).get(name)
        return cast(D, doc.model) if doc else None

    def names(self, kind: type[Document]) -> list[str]:
        return list(self.by_kind.get(kind.__name__, {}))

    @property
    def project(self) -> Project | None:
        doc = self.workspace.project
        return cast(Project, doc.model) if doc else None

    def report(
        self,
        doc: SpecDocument,
        loc: Loc,
        code: str,
        message: str,
        *,
        at_key: bool = False,
        field_path: Loc | None = None,
        mark: tuple[int, int] | None = None,
    ) -> None:
        """A diagnostic at ``loc`` of ``doc`` (or at ``mark``, a place inside its value);
        W-codes are warnings."""
        if mark is None:
            mark = doc.raw.key_mark(loc) if at_key else doc.raw.mark(loc)
        severity = Severity.WARNING if code.startswith("W") else Severity.ERROR
        path = format_path(field_path if field_path is not None else loc)
        self.diagnostics.add(
            Diagnostic(severity, doc.raw.file, mark[0], mark[1], code, message, doc.label, path)
        )

    # Lookups through the lifecycle chain, used by several checks.
    def dataset_of_training(self, training: Training) -> Dataset | None:
        features = self.get(FeatureSet, training.spec.features)
        name = training.spec.dataset or (features.spec.dataset if features else None)
        return self.get(Dataset, name)

    def training_of_model(self, model: Model) -> Training | None:
        return self.get(Training, model.spec.training)

    def estimator_of(self, training: Training | None) -> EstimatorInfo | None:
        return lookup(training.spec.estimator.class_) if training else None
