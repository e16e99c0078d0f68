"""What a window is compared with: the data and predictions a model version was built from.

Registering a version keeps, beside its ONNX file, the profile of its training data
(``profile.json``) and its predictions on the test split (``test_predictions.parquet``), so
drift is always measured against the version actually served. Versions registered before
mlform kept them fall back to the workspace's pipeline outputs (the result says which).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlform.errors import UserError
from mlform.layout import Layout
from mlform.monitoring.drift import CategoricalReference, NumericReference, Reference
from mlform.project import ProjectGraph
from mlform.spec import Model


@dataclass(frozen=True)
class VersionReference:
    version: str
    profile_path: Path
    predictions_path: Path | None
    record: dict[str, Any]
    columns: dict[str, dict[str, Any]]

    def feature(self, name: str) -> Reference | None:
        column = self.columns.get(name)
        if column is None:
            return None
        return column_reference(column)

    @property
    def inputs(self) -> list[str]:
        signature = self.record.get("signature") or []
        # The dataset columns (an input's ONNX name may differ: see runtime.export).
        return [
            str(i.get("column", i["name"]))
            for i in signature
            if isinstance(i, dict) and "name" in i
        ]

    @property
    def task(self) -> str:
        return str(self.record.get("task") or "classification")

    @property
    def classes(self) -> list[Any]:
        return list(self.record.get("classes") or [])


def as_class(value: Any, classes: list[Any]) -> Any:
    """A label as the model's classes spell it (feedback may send 1 or "1")."""
    for known in classes:
        if str(known) == str(value):
            return known
    return value


def column_reference(column: dict[str, Any]) -> Reference | None:
    if column.get("kind") == "numeric" and column.get("sketch"):
        return NumericReference(
            np.asarray(column["sketch"], dtype=np.float64),
            int(column.get("count") or 0),
            float(column.get("std") or 0.0),
        )
    if column.get("kind") == "categorical":
        return CategoricalReference({str(k): int(v) for k, v in column["frequencies"].items()})
    return None


def load(graph: ProjectGraph, model: Model, version: str | None) -> VersionReference:
    from mlform.registry import Registry

    root = graph.root
    name = model.metadata.name
    layout = Layout(graph.artifacts)
    training = graph.training_of(model)
    record: dict[str, Any] = {}
    folder = None
    if version:
        folder = Registry(root).store(name, version)
        if (folder / "record.json").is_file():
            record = json.loads((folder / "record.json").read_text())
    dataset = graph.dataset_of(training).metadata.name
    profile = root / layout.dataset(dataset).profile
    predictions: Path | None = root / layout.training(training.metadata.name).predictions
    if folder is not None and (folder / "profile.json").is_file():
        profile = folder / "profile.json"
        predictions = folder / "test_predictions.parquet"
    if not profile.is_file():
        raise UserError(
            f"no reference for Model '{name}': neither {version or 'a registered version'} nor "
            f"the workspace has a profile of Dataset '{dataset}'; run "
            f"`dvc repro profile-{dataset}` (or `mlform apply`) first"
        )
    try:
        columns = json.loads(profile.read_text())["columns"]
    except (ValueError, KeyError) as error:
        raise UserError(f"{profile}: not a profile written by mlform ({error})") from None
    if not record:
        record = _workspace_record(graph, model)
    return VersionReference(
        version or "",
        profile,
        predictions if predictions is not None and predictions.is_file() else None,
        record,
        columns,
    )


def _workspace_record(graph: ProjectGraph, model: Model) -> dict[str, Any]:
    """Signature, task and classes of the workspace's ONNX file (no version registered)."""
    onnx_file = graph.root / Layout(graph.artifacts).model(model.metadata.name).onnx
    if not onnx_file.is_file():
        return {}
    from mlform.runtime.export import read_metadata

    meta = read_metadata(onnx_file)
    return {
        "signature": meta.get("inputs"),
        "task": meta.get("task"),
        "classes": meta.get("classes"),
    }


def prediction_reference(ref: VersionReference) -> tuple[Reference, str] | None:
    """The test split's predictions as a reference, and what they are: the positive class's
    probability (binary), the predicted class (multiclass) or the predicted value."""
    if ref.predictions_path is None:
        return None
    import pyarrow.parquet as pq

    table = pq.read_table(ref.predictions_path)
    names = table.column_names
    if ref.task == "classification":
        if len(ref.classes) == 2 and "score_1" in names:
            values = table.column("score_1").to_numpy()
            return NumericReference.from_values(values), "probability of the positive class"
        counts: dict[str, int] = {}
        for value in table.column("predicted").to_pylist():
            counts[str(value)] = counts.get(str(value), 0) + 1
        return CategoricalReference(counts), "predicted class"
    return NumericReference.from_values(table.column("predicted").to_numpy()), "predicted value"


def current_predictions(ref: VersionReference, outputs: list[dict[str, Any]]) -> Any:
    """The window's predictions, in the same terms as ``prediction_reference``."""
    if ref.task == "classification":
        if len(ref.classes) == 2:
            return np.array([_last(o.get("probabilities")) for o in outputs], dtype=np.float64)
        return [str(o.get("label")) for o in outputs if o.get("label") is not None]
    return np.array([first_number(o) for o in outputs], dtype=np.float64)


def _last(value: Any) -> float:
    if isinstance(value, list) and value and isinstance(value[-1], int | float):
        return float(value[-1])
    return float("nan")


def first_number(outputs: dict[str, Any]) -> float:
    for value in outputs.values():
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], int | float):
            return float(value[0])
    return float("nan")
