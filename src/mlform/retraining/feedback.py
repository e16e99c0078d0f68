"""Labelled production predictions as new training rows: joined from the local servers'
prediction and feedback logs, each taken once, appended to the Dataset's source."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.layout import server_dir
from mlform.project import ProjectGraph
from mlform.retraining import ledger
from mlform.runtime.outputs import write_bytes, write_with
from mlform.spec import Dataset, Deployment, Model, RetrainPolicy

Progress = Callable[[str], None]


def dvc_tracked(source: Path) -> Path | None:
    marker = source.with_name(source.name + ".dvc")
    return marker if marker.is_file() else None


def labelled_rows(
    graph: ProjectGraph, policy: RetrainPolicy
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every labelled prediction of the policy's model not appended before, as dataset rows
    (the logged inputs, the feedback's extra columns that are not inputs, the label as the
    target)."""
    from mlform.monitoring.window import FEEDBACK, PREDICTION, Corrupt, read_records, rotated

    model = policy.spec.model
    dataset = graph.dataset_of(graph.training_of(graph.get(Model, model)))
    done = ledger.appended(graph.root, policy.metadata.name)
    rows, keys = [], []
    for deployment in graph.all(Deployment):
        if deployment.spec.model != model or graph.target(deployment) != "local":
            continue
        logs = server_dir(graph.root, deployment.metadata.name) / "logs"
        corrupt = Corrupt()
        labels: dict[tuple[str, int], dict[str, Any]] = {}
        for item in read_records(rotated(logs / "feedback.jsonl"), "", corrupt, FEEDBACK):
            if item.get("model") in (None, model):
                labels[(item["request_id"], int(item.get("row") or 0))] = item
        for record in read_records(rotated(logs / "predictions.jsonl"), "", corrupt, PREDICTION):
            key = (record["request_id"], int(record.get("row") or 0))
            if record.get("model") != model or key not in labels:
                continue
            text = f"{deployment.metadata.name}/{key[0]}/{key[1]}"
            if text in done:
                continue
            feedback = labels.pop(key)
            # The logged inputs win over the feedback's columns (which only add what the
            # model was not sent: the server refuses an input among them, but a log may
            # predate that), and the label over both.
            row = {
                **(feedback.get("columns") or {}),
                **record["inputs"],
                dataset.spec.target: feedback["label"],
            }
            rows.append(row)
            keys.append(text)
    return rows, keys


@dataclass(frozen=True)
class Usable:
    """The labelled rows a retrain would append, and what was left out and why."""

    rows: list[dict[str, Any]]
    keys: list[str]  # the rows' keys, and the keys of the duplicates they stand for
    incomplete: dict[str, int]  # column → rows without a required value
    skipped: int  # rows without a required value
    duplicates: int  # rows identical to one taken already in this batch

    def digest(self) -> str:
        """The rows' sha256 (order-independent): what this feedback is, for fingerprints."""
        lines = sorted(json.dumps(r, sort_keys=True, default=str) for r in self.rows)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def usable_rows(graph: ProjectGraph, policy: RetrainPolicy, dataset: Dataset) -> Usable:
    """The labelled rows that have every value the Dataset requires, each distinct row once
    (the same row labelled under several requests is one row)."""
    rows, keys = labelled_rows(graph, policy)
    columns = dataset.spec.columns
    missing: dict[str, int] = {}
    complete: list[dict[str, Any]] = []
    taken: list[str] = []
    seen: set[str] = set()
    skipped = duplicates = 0
    for row, key in zip(rows, keys, strict=True):
        lacking = [
            name
            for name, column in columns.items()
            if not column.nullable and row.get(name) in (None, "")
        ]
        for name in lacking:
            missing[name] = missing.get(name, 0) + 1
        if lacking:
            skipped += 1
            continue
        text = json.dumps(row, sort_keys=True, default=str)
        taken.append(key)  # a duplicate is taken with the row it repeats
        if text in seen:
            duplicates += 1
            continue
        seen.add(text)
        complete.append(row)
    return Usable(complete, taken, missing, skipped, duplicates)


def append_feedback(
    graph: ProjectGraph, policy: RetrainPolicy, dataset: Dataset, progress: Progress, work: Path
) -> tuple[int, list[str]]:
    """Append the usable labelled rows to the source in ``work`` (the retrain's scratch);
    report the others (they stay in the log, and are offered again once complete rows are
    not)."""
    usable = usable_rows(graph, policy, dataset)
    if usable.incomplete:
        listed = ", ".join(f"{k} ({n})" for k, n in sorted(usable.incomplete.items()))
        progress(
            f"note: skipped {usable.skipped} labelled row(s) that lack values Dataset "
            f"'{dataset.metadata.name}' requires: {listed}; send them in the feedback's "
            "`columns` (see docs/monitoring.md)"
        )
    if usable.duplicates:
        progress(
            f"note: {usable.duplicates} labelled row(s) repeat another row exactly (inputs, "
            "columns and label); each distinct row is appended once"
        )
    if not usable.rows:
        return 0, []
    columns = dataset.spec.columns
    path = work / dataset.spec.source.path
    fmt = dataset.spec.source.format or ("parquet" if path.suffix == ".parquet" else "csv")
    if fmt == "csv":
        _append_csv(path, usable.rows, columns, dataset.spec.source.delimiter)
    else:
        _append_parquet(path, usable.rows)
    return len(usable.rows), usable.keys


def _cell(value: Any, dtype: str) -> str:
    if value is None:
        return ""
    if dtype == "int" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append_csv(
    path: Path, rows: list[dict[str, Any]], columns: dict[str, Any], delimiter: str
) -> None:
    import csv
    import io

    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter=delimiter))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow(
            [
                _cell(row.get(name), columns[name].dtype if name in columns else "")
                for name in header
            ]
        )
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    write_bytes(path, data + buffer.getvalue().encode("utf-8"))


def _append_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    frame = pd.read_parquet(path)
    extra = pd.DataFrame.from_records(rows, columns=list(frame.columns))
    for name in frame.columns:
        with contextlib.suppress(TypeError, ValueError):  # keep what does not convert
            extra[name] = extra[name].astype(frame[name].dtype)
    combined = pd.concat([frame, extra], ignore_index=True)
    write_with(path, lambda temp: combined.to_parquet(temp, index=False))
