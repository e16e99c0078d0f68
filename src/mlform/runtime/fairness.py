"""Per-group rates and parity metrics (fairlearn's ``between_groups`` definitions), shared by
the Model's fairness gate (the test split, ``review``) and a Monitor's production fairness
(labelled traffic, ``monitoring.fairness``): both compute exactly the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FeatureParity:
    """One sensitive feature: the rates of each group large enough to count, the groups that
    are too small, and the parity metric over the large ones (None: fewer than two)."""

    groups: list[dict[str, Any]]
    too_small: list[dict[str, Any]]
    value: float | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"groups": self.groups, "too_small": self.too_small}
        if self.value is not None:
            out["value"] = self.value
        return out


def by_feature(
    y_true: Any, y_pred: Any, groups: dict[str, Any], positive: Any, metric: str, minimum: int
) -> dict[str, FeatureParity]:
    """Per sensitive feature (its values, one per row), the rates per group and ``metric``
    over the groups of at least ``minimum`` rows."""
    truth, predicted = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
    out: dict[str, FeatureParity] = {}
    for feature, values in groups.items():
        table: list[dict[str, Any]] = []
        small: list[dict[str, Any]] = []
        labels = np.asarray(values).astype(str)
        for group in sorted(set(labels)):
            mask = labels == group
            row = group_rates(truth[mask], predicted[mask])
            row["group"] = group
            (table if mask.sum() >= minimum else small).append(row)
        value = parity(table, metric) if len(table) >= 2 else None
        out[feature] = FeatureParity(
            table, [{"group": r["group"], "count": r["count"]} for r in small], value
        )
    return out


def worst(values: list[float], metric: str) -> float:
    """The least fair of several features' values: the largest difference, the smallest ratio."""
    return max(values) if metric.endswith("difference") else min(values)


def within(value: float, low: float | None, high: float | None) -> bool:
    return (high is None or value <= high) and (low is None or value >= low)


def group_rates(truth: Any, predicted: Any) -> dict[str, Any]:
    positives, negatives = truth.sum(), (~truth).sum()
    return {
        "count": int(truth.size),
        "selection_rate": float(predicted.mean()) if truth.size else 0.0,
        "true_positive_rate": float((predicted & truth).sum() / positives) if positives else None,
        "false_positive_rate": float((predicted & ~truth).sum() / negatives) if negatives else None,
        "accuracy": float((predicted == truth).mean()) if truth.size else 0.0,
    }


def parity(table: list[dict[str, Any]], metric: str) -> float:
    def spread(key: str, ratio: bool) -> float:
        values = [float(r[key]) for r in table if r[key] is not None]
        if not values:
            return 0.0 if not ratio else 1.0
        low, high = min(values), max(values)
        if ratio:
            return 1.0 if high == 0 else low / high
        return high - low

    ratio = metric.endswith("_ratio")
    if metric.startswith("demographic_parity"):
        return spread("selection_rate", ratio)
    tpr, fpr = spread("true_positive_rate", ratio), spread("false_positive_rate", ratio)
    return min(tpr, fpr) if ratio else max(tpr, fpr)
