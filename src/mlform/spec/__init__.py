"""The spec language (apiVersion mlform/v1): one pydantic model per kind, the schema source.

A kind's module is imported when one of its names is first asked for (PEP 562), so a command
that reads only the Project (`mlform state list`, `force-unlock`) does not create the other
kinds' ~70 model classes. ``KINDS`` imports every kind.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlform.spec.base import API_VERSION, Document

if TYPE_CHECKING:
    from mlform.spec.dataset import Dataset
    from mlform.spec.deployment import Deployment
    from mlform.spec.featureset import FeatureSet
    from mlform.spec.model import Model
    from mlform.spec.monitor import Monitor
    from mlform.spec.project import Project
    from mlform.spec.retrain import RetrainPolicy
    from mlform.spec.training import Training

    KINDS: dict[str, type[Document]]

# kind → the module defining it, in the order KINDS lists them
_MODULES = {
    "Project": "project",
    "Dataset": "dataset",
    "FeatureSet": "featureset",
    "Training": "training",
    "Model": "model",
    "Deployment": "deployment",
    "Monitor": "monitor",
    "RetrainPolicy": "retrain",
}

KIND_NAMES = tuple(_MODULES)


def kind_model(kind: str) -> type[Document]:
    """The model of ``kind`` (one of KIND_NAMES), importing only its module."""
    model: type[Document] = globals().get(kind) or __getattr__(kind)  # imported once
    return model


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        found = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = found
        return found
    if name == "KINDS":
        kinds = {kind: __getattr__(kind) for kind in _MODULES}
        globals()["KINDS"] = kinds
        return kinds
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "API_VERSION",
    "KINDS",
    "KIND_NAMES",
    "Dataset",
    "Deployment",
    "Document",
    "FeatureSet",
    "Model",
    "Monitor",
    "Project",
    "RetrainPolicy",
    "Training",
    "kind_model",
]
