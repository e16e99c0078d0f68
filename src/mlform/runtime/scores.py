"""Evaluation metrics and curves in plain numpy, equal to scikit-learn's definitions.

The evaluate stage scores saved predictions, so it needs neither the model nor
scikit-learn: it starts in a fraction of a second (tests compare every value with
scikit-learn's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any  # numpy arrays; numpy's typing is too loose to help here


def average_ranks(values: Array) -> Array:
    """1-based ranks, ties sharing their average rank (scipy's rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ((first + last) / 2.0 + 1.0)[group]
    return ranks


def binary_auc(truth: Array, score: Array) -> float:
    """Area under the ROC curve (Mann–Whitney U, ties counted half)."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def classification(
    y_true: Array, y_pred: Array, scores: Array | None, classes: list[Any], names: list[str]
) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    binary = len(classes) == 2
    labels = classes[-1:] if binary else sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    precision, recall, f1 = [], [], []
    for label in labels:
        tp = float(np.sum((y_pred == label) & (y_true == label)))
        predicted, actual = float(np.sum(y_pred == label)), float(np.sum(y_true == label))
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    present = sorted(set(y_true.tolist()))
    values = {
        "accuracy": float(np.mean(y_true == y_pred)),
        "balanced_accuracy": float(np.mean([np.mean(y_pred[y_true == c] == c) for c in present])),
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)),
        "f1": float(np.mean(f1)),
    }
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if binary:
            values["roc_auc"] = binary_auc(
                y_true == classes[-1], scores[:, -1] if scores.ndim == 2 else scores
            )
        else:
            values["roc_auc"] = float(
                np.mean([binary_auc(y_true == c, scores[:, i]) for i, c in enumerate(classes)])
            )
        if scores.ndim == 2:
            values["log_loss"] = log_loss(y_true, scores, classes)
    return {name: values[name] for name in names if name in values}


def log_loss(y_true: Array, probabilities: Array, classes: list[Any]) -> float:
    eps = np.finfo(probabilities.dtype).eps
    clipped = np.clip(probabilities, eps, 1 - eps)
    index = {c: i for i, c in enumerate(classes)}
    picked = clipped[np.arange(len(y_true)), [index[v] for v in y_true.tolist()]]
    return float(-np.mean(np.log(picked)))


def regression(y_true: Array, y_pred: Array, names: list[str]) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    errors = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    residual = float(np.sum(errors**2))
    values = {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "r2": (1.0 - residual / total) if total else (1.0 if residual == 0 else 0.0),
        "mape": float(
            np.mean(np.abs(errors) / np.maximum(np.abs(y_true), np.finfo(np.float64).eps))
        ),
    }
    return {name: values[name] for name in names if name in values}


def roc_points(truth: Array, score: Array) -> tuple[Array, Array]:
    order = np.argsort(-score, kind="mergesort")
    truth, score = truth[order], score[order]
    distinct = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    return fpr, tpr


def precision_recall_points(truth: Array, score: Array) -> tuple[Array, Array]:
    order = np.argsort(-score, kind="mergesort")
    truth, score = truth[order], score[order]
    distinct = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    tps = np.cumsum(truth)[distinct]
    precision = tps / (distinct + 1)
    recall = tps / max(tps[-1], 1)
    return np.r_[recall[::-1], 0.0], np.r_[precision[::-1], 1.0]


def calibration_points(truth: Array, score: Array, bins: int = 10) -> tuple[Array, Array]:
    """Mean predicted probability and observed positive rate per quantile bin."""
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges[1:-1], score, side="right"), 0, max(len(edges) - 2, 0))
    mean, fraction = [], []
    for b in range(max(len(edges) - 1, 1)):
        mask = which == b
        if mask.any():
            mean.append(float(score[mask].mean()))
            fraction.append(float(truth[mask].mean()))
    return np.asarray(mean), np.asarray(fraction)
