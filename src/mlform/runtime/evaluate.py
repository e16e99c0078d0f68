"""Test-split predictions (written by the train stage), and the evaluate stage's metrics and
DVC plot data computed from them with numpy alone (see scores.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlform.runtime import scores

MAX_PLOT_POINTS = 500
CLASSES_KEY = b"mlform.classes"


@dataclass
class Predictions:
    y_true: Any
    y_pred: Any
    scores: Any | None  # class probabilities (or decision values) for classifiers
    classes: list[Any] | None  # None for regression

    @property
    def positive_scores(self) -> Any:
        values = np.asarray(self.scores)
        return values[:, -1] if values.ndim == 2 else values


def predict(pipeline: Any, X: Any, y: Any, task: str) -> Predictions:
    y_pred = pipeline.predict(X)
    if task != "classification":
        return Predictions(np.asarray(y, dtype=float), np.asarray(y_pred, dtype=float), None, None)
    classes = [c.item() if hasattr(c, "item") else c for c in pipeline.classes_]
    values = None
    try:
        values = pipeline.predict_proba(X)
    except AttributeError:  # no probabilities (LinearSVC, SGD with hinge loss)
        values = pipeline.decision_function(X) if hasattr(pipeline, "decision_function") else None
    return Predictions(np.asarray(y), np.asarray(y_pred), values, classes)


def save(path: Path, p: Predictions) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlform.runtime.outputs import write_with

    columns: dict[str, Any] = {"actual": np.asarray(p.y_true), "predicted": np.asarray(p.y_pred)}
    if p.scores is not None:
        values = np.asarray(p.scores, dtype=np.float64)
        for i in range(values.shape[1] if values.ndim == 2 else 1):
            columns[f"score_{i}"] = values[:, i] if values.ndim == 2 else values
    table = pa.table(columns).replace_schema_metadata({CLASSES_KEY: json.dumps(p.classes).encode()})
    write_with(path, lambda temp: pq.write_table(table, temp))


def load(path: Path) -> Predictions:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read()  # read_table would import pyarrow.dataset and pandas
    classes = json.loads((table.schema.metadata or {}).get(CLASSES_KEY, b"null"))

    # to_pylist: pyarrow's to_numpy imports pandas, which would triple this stage's start-up.
    def column(name: str) -> Any:
        return np.asarray(table.column(name).to_pylist())

    score_columns = sorted(
        (n for n in table.column_names if n.startswith("score_")), key=lambda n: int(n[6:])
    )
    values = (
        np.column_stack([column(n) for n in score_columns]).astype(np.float64)
        if score_columns
        else None
    )
    if values is not None and values.shape[1] == 1:
        values = values[:, 0]
    return Predictions(column("actual"), column("predicted"), values, classes)


def metrics(p: Predictions, names: list[str]) -> dict[str, float]:
    if p.classes is None:
        return scores.regression(p.y_true, p.y_pred, names)
    return scores.classification(p.y_true, p.y_pred, p.scores, p.classes, names)


def _thin(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(rows) <= MAX_PLOT_POINTS:
        return rows
    keep = np.linspace(0, len(rows) - 1, MAX_PLOT_POINTS).round().astype(int)
    return [rows[i] for i in keep]


def _pairs(a: Any, b: Any, x: str, y: str) -> list[dict[str, Any]]:
    return [{x: float(u), y: float(v)} for u, v in zip(a, b, strict=True)]


def plots(p: Predictions) -> dict[str, list[dict[str, Any]]]:
    """Plot data by file name (see layout.CLASSIFICATION_PLOTS / REGRESSION_PLOTS)."""
    if p.classes is None:
        residual = p.y_true - p.y_pred
        return {
            "predicted_vs_actual.json": _thin(_pairs(p.y_true, p.y_pred, "actual", "predicted")),
            "residuals.json": _thin(_pairs(p.y_pred, residual, "predicted", "residual")),
        }
    out: dict[str, list[dict[str, Any]]] = {
        "confusion.json": [
            {"actual": str(a), "predicted": str(b)} for a, b in zip(p.y_true, p.y_pred, strict=True)
        ],
        "roc.json": [],
        "precision_recall.json": [],
        "calibration.json": [],
    }
    if p.scores is None:
        return out
    truth = np.asarray(p.y_true) == p.classes[-1]
    score = np.asarray(p.positive_scores, dtype=np.float64)
    out["roc.json"] = _thin(_pairs(*scores.roc_points(truth, score), "fpr", "tpr"))
    out["precision_recall.json"] = _thin(
        _pairs(*scores.precision_recall_points(truth, score), "recall", "precision")
    )
    if np.ndim(p.scores) == 2:
        out["calibration.json"] = _pairs(
            *scores.calibration_points(truth, score), "mean_predicted", "fraction_positive"
        )
    return out
