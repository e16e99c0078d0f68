"""Feedback (``POST /v2/models/{m}/feedback``): labels for logged predictions, checked
against the model they label before they are logged for monitoring and retraining.

- at most ``max_batch`` records a request (the inference batch limit);
- a label is one of the model's classes (classification; ``1`` and ``"1"`` both name class
  ``1``, logged as the model spells it) or a finite number (regression);
- ``columns`` add what the model was not sent (an id, a sensitive attribute): a column that
  is one of the model's inputs is refused, as retraining learns from the inputs logged
  with the prediction, not from what a client says afterwards.

Every rejection is a 400 naming the record and what was expected."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlform.serving.errors import bad_request
from mlform.serving.protocol import check_id
from mlform.serving.router import ModelGroup

MAX_FEEDBACK_COLUMNS = 256


@dataclass(frozen=True)
class Signature:
    """What feedback for one served model must agree with (every version it serves)."""

    model: str
    inputs: frozenset[str]  # input names and their dataset columns
    task: str  # "classification", "regression", or "" (not recorded: labels not checked)
    classes: tuple[Any, ...]

    @classmethod
    def of(cls, group: ModelGroup) -> Signature:
        versions = list(group.versions.values())
        inputs = {t.name for m in versions for t in m.inputs}
        inputs |= {m.column(t.name) for m in versions for t in m.inputs}
        tasks = {m.task for m in versions}
        classes: list[Any] = []
        for model in versions:
            classes += [c for c in model.classes if c not in classes]
        return cls(
            group.name, frozenset(inputs), tasks.pop() if len(tasks) == 1 else "", tuple(classes)
        )


def parse_feedback(body: Any, signature: Signature, max_records: int) -> list[dict[str, Any]]:
    """Labels sent back for earlier predictions: ``{request_id, label[, row][, columns]}`` or
    ``{feedback: [...]}``; a 400 naming the first bad item."""
    items = body.get("feedback", [body]) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise bad_request("feedback is {request_id, label[, row]} or {feedback: [...]} ")
    if len(items) > max_records:
        raise bad_request(
            f"{len(items):,} feedback records is over this server's limit of "
            f"{max_records:,} a request"
        )
    clean = []
    for index, item in enumerate(items):
        where = f"feedback[{index}]"
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("request_id"), str)
            or "label" not in item
        ):
            raise bad_request(f"{where} needs a string 'request_id' and a 'label'")
        row = item.get("row", 0)
        if not isinstance(row, int) or isinstance(row, bool) or row < 0:
            raise bad_request(f"{where}: 'row' must be a non-negative integer")
        check_id(item["request_id"], f"{where}: 'request_id'")
        label = _label(item["label"], signature, where)
        entry = {"request_id": item["request_id"], "row": row, "label": label}
        columns = item.get("columns")
        if columns is not None:
            entry["columns"] = _columns(columns, signature, where)
        clean.append(entry)
    return clean


def _label(label: Any, signature: Signature, where: str) -> Any:
    if not isinstance(label, str | int | float) or isinstance(label, bool):
        raise bad_request(f"{where}: 'label' must be a number or a string")
    if signature.task == "classification" and signature.classes:
        for known in signature.classes:
            if label == known or str(label) == str(known):
                return known
        listed = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in signature.classes)
        raise bad_request(
            f"{where}: label {label!r} is not one of the classes of model "
            f"'{signature.model}': {listed}"
        )
    if signature.task == "regression" and (
        not isinstance(label, int | float) or not math.isfinite(label)
    ):
        raise bad_request(
            f"{where}: label {label!r} is not a finite number, as model "
            f"'{signature.model}' (regression) predicts"
        )
    return label


def _columns(columns: Any, signature: Signature, where: str) -> dict[str, Any]:
    """Feedback's extra columns: a small, flat mapping of names to scalars, none of them one
    of the model's inputs."""
    if not (
        isinstance(columns, dict)
        and len(columns) <= MAX_FEEDBACK_COLUMNS
        and all(
            isinstance(k, str)
            and 0 < len(k) <= 128
            and (v is None or isinstance(v, str | int | float | bool))
            for k, v in columns.items()
        )
    ):
        raise bad_request(
            f"{where}: 'columns' must map at most {MAX_FEEDBACK_COLUMNS} "
            "names to strings, numbers, booleans or null"
        )
    inputs = sorted(name for name in columns if name in signature.inputs)
    if inputs:
        raise bad_request(
            f"{where}: 'columns' names {', '.join(repr(n) for n in inputs)}, an input of "
            f"model '{signature.model}': retraining takes the inputs logged with the "
            "prediction, and 'columns' may only add others"
        )
    return columns
