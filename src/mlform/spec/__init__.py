"""The spec language (apiVersion mlform/v1): one pydantic model per kind, the schema source."""

from __future__ import annotations

from mlform.spec.base import API_VERSION, Document
from mlform.spec.dataset import Dataset
from mlform.spec.deployment import Deployment
from mlform.spec.featureset import FeatureSet
from mlform.spec.model import Model
from mlform.spec.monitor import Monitor
from mlform.spec.project import Project
from mlform.spec.retrain import RetrainPolicy
from mlform.spec.training import Training

KINDS: dict[str, type[Document]] = {
    "Project": Project,
    "Dataset": Dataset,
    "FeatureSet": FeatureSet,
    "Training": Training,
    "Model": Model,
    "Deployment": Deployment,
    "Monitor": Monitor,
    "RetrainPolicy": RetrainPolicy,
}

__all__ = [
    "API_VERSION",
    "KINDS",
    "Dataset",
    "Deployment",
    "Document",
    "FeatureSet",
    "Model",
    "Monitor",
    "Project",
    "RetrainPolicy",
    "Training",
]
