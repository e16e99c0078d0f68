"""`mlform stage evaluate TRAINING`: metrics on the test split, and DVC plot data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_PLOT_POINTS = 500


@dataclass
class Predictions:
    y_true: Any
    y_pred: Any
    scores: Any | None  # P(positive) for binary, the probability matrix for multiclass
    classes: list[Any] | None


def predict(pipeline: Any, X: Any, y: Any, task: str) -> Predictions:
    y_pred = pipeline.predict(X)
    if task != "classification":
        return Predictions(np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float), None, None)
    classes = list(pipeline.classes_)
    scores = None
    if hasattr(pipeline, "predict_proba"):
        try:
            scores = pipeline.predict_proba(X)
        except AttributeError:  # e.g. SGDClassifier with a loss that has no probabilities
            scores = None
    if scores is None and hasattr(pipeline, "decision_function"):
        scores = pipeline.decision_function(X)
    return Predictions(np.asarray(y), np.asarray(y_pred), scores, classes)


def metrics(p: Predictions, names: list[str]) -> dict[str, float]:
    from sklearn import metrics as m

    out: dict[str, float] = {}
    if p.classes is None:
        errors = p.y_pred - p.y_true
        values = {
            "rmse": float(np.sqrt(np.mean(errors**2))),
            "mae": float(np.mean(np.abs(errors))),
            "r2": float(m.r2_score(p.y_true, p.y_pred)),
            "mape": float(m.mean_absolute_percentage_error(p.y_true, p.y_pred)),
        }
        return {name: values[name] for name in names if name in values}
    binary = len(p.classes) == 2
    average = "binary" if binary else "macro"
    positive = p.classes[-1]
    label_metrics = {
        "accuracy": lambda: m.accuracy_score(p.y_true, p.y_pred),
        "balanced_accuracy": lambda: m.balanced_accuracy_score(p.y_true, p.y_pred),
        "precision": lambda: m.precision_score(
            p.y_true, p.y_pred, average=average, pos_label=positive, zero_division=0
        ),
        "recall": lambda: m.recall_score(
            p.y_true, p.y_pred, average=average, pos_label=positive, zero_division=0
        ),
        "f1": lambda: m.f1_score(
            p.y_true, p.y_pred, average=average, pos_label=positive, zero_division=0
        ),
    }
    for name in names:
        if name in label_metrics:
            out[name] = float(label_metrics[name]())
        elif name == "roc_auc" and p.scores is not None:
            out[name] = float(
                m.roc_auc_score(
                    p.y_true,
                    positive_scores(p) if binary else p.scores,
                    multi_class="ovr",
                    labels=p.classes,
                )
            )
        elif name == "log_loss" and p.scores is not None and np.ndim(p.scores) == 2:
            out[name] = float(m.log_loss(p.y_true, p.scores, labels=p.classes))
    return out


def positive_scores(p: Predictions) -> Any:
    scores = np.asarray(p.scores)
    return scores[:, -1] if scores.ndim == 2 else scores


def _thin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) <= MAX_PLOT_POINTS:
        return rows
    keep = np.linspace(0, len(rows) - 1, MAX_PLOT_POINTS).round().astype(int)
    return [rows[i] for i in keep]


def plots(p: Predictions) -> dict[str, list[dict[str, Any]]]:
    """Plot data by file name (see layout.CLASSIFICATION_PLOTS / REGRESSION_PLOTS)."""
    from sklearn import metrics as m

    if p.classes is None:
        residual = p.y_true - p.y_pred
        pairs = [
            {"actual": float(a), "predicted": float(b)}
            for a, b in zip(p.y_true, p.y_pred, strict=True)
        ]
        resid = [
            {"predicted": float(b), "residual": float(r)}
            for b, r in zip(p.y_pred, residual, strict=True)
        ]
        return {"predicted_vs_actual.json": _thin(pairs), "residuals.json": _thin(resid)}
    positive = p.classes[-1]
    truth = np.asarray(p.y_true) == positive
    out: dict[str, list[dict[str, Any]]] = {
        "confusion.json": [
            {"actual": str(a), "predicted": str(b)} for a, b in zip(p.y_true, p.y_pred, strict=True)
        ]
    }
    if p.scores is None:
        out.update({"roc.json": [], "precision_recall.json": [], "calibration.json": []})
        return out
    score = positive_scores(p)
    fpr, tpr, _ = m.roc_curve(truth, score)
    precision, recall, _ = m.precision_recall_curve(truth, score)
    out["roc.json"] = _thin(
        [{"fpr": float(a), "tpr": float(b)} for a, b in zip(fpr, tpr, strict=True)]
    )
    out["precision_recall.json"] = _thin(
        [
            {"recall": float(a), "precision": float(b)}
            for a, b in zip(recall, precision, strict=True)
        ]
    )
    if np.ndim(p.scores) == 2:
        from sklearn.calibration import calibration_curve

        fraction, mean = calibration_curve(truth, score, n_bins=10, strategy="quantile")
        out["calibration.json"] = [
            {"mean_predicted": float(a), "fraction_positive": float(b)}
            for a, b in zip(mean, fraction, strict=True)
        ]
    else:
        out["calibration.json"] = []
    return out
