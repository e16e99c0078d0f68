"""The metrics specs name, the task each belongs to, and which direction is better."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricName = Literal[
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "rmse",
    "mae",
    "r2",
    "mape",
]


@dataclass(frozen=True)
class MetricInfo:
    task: Literal["classification", "regression"]
    higher_is_better: bool
    needs_scores: bool  # needs predict_proba / decision_function, not only labels
    scorer: str  # scikit-learn's scoring name for tuning


METRICS: dict[str, MetricInfo] = {
    "accuracy": MetricInfo("classification", True, False, "accuracy"),
    "balanced_accuracy": MetricInfo("classification", True, False, "balanced_accuracy"),
    "precision": MetricInfo("classification", True, False, "precision"),
    "recall": MetricInfo("classification", True, False, "recall"),
    "f1": MetricInfo("classification", True, False, "f1"),
    "roc_auc": MetricInfo("classification", True, True, "roc_auc"),
    "log_loss": MetricInfo("classification", False, True, "neg_log_loss"),
    "rmse": MetricInfo("regression", False, False, "neg_root_mean_squared_error"),
    "mae": MetricInfo("regression", False, False, "neg_mean_absolute_error"),
    "r2": MetricInfo("regression", True, False, "r2"),
    "mape": MetricInfo("regression", False, False, "neg_mean_absolute_percentage_error"),
}

DEFAULT_METRICS = {
    "classification": ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
