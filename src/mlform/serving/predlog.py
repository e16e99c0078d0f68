"""Prediction and feedback logs for monitoring: JSON Lines, rotated by size, written in
batches by a background thread (``logfile``), so a request never waits for the disk.

One prediction record per row::

    {"timestamp": "2026-11-26T23:59:59.123Z", "request_id": "…", "row": 0,
     "deployment": "credit-risk-local", "model": "credit-risk", "version": "v0.1.0",
     "protocol": "v2", "inputs": {"age": 35.0, …}, "outputs": {"label": 0, "probabilities": [0.8, 0.2]}}

One feedback record per labelled row (``POST /v2/models/{name}/feedback``)::

    {"timestamp": "…", "request_id": "…", "row": 0, "model": "credit-risk", "label": 1}

A request's records are made on the request path, one ``orjson.dumps`` a row (~3 µs), and
appended as bytes to the writer's bounded buffer; the writer thread only joins and writes
them. Handing the writer the arrays or lists to serialize was measured slower: objects made
on the event loop and freed on another thread cost more (~8 µs a request) than the
serialization they would save.

A request is logged or not as a whole, decided by its id (``sampled``): the same request is
logged in every process. The prediction buffer holds at most ``buffer_rows`` rows; past
that, rows are dropped and counted (``mlform_prediction_log_dropped_total``), never waited
for. Feedback is never dropped: it is acknowledged only once accepted (``LogFull``).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from mlform.clock import stamp_ms
from mlform.serving.config import PredictionLog
from mlform.serving.logfile import BatchWriter, RotatingFile, make_private
from mlform.serving.model import ServedModel, as_list

__all__ = ["LogFull", "PredictionLogger", "make_private", "sampled"]
OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
SCALE = float(1 << 64)


class LogFull(Exception):
    """The feedback log holds all it may; the message says what to do."""


def sampled(request_id: str, rate: float) -> bool:
    """Whether the request with this id is logged at sampling ``rate`` (0 < rate ≤ 1): a
    hash of the id, so every process and every run decides the same."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(request_id.encode(), digest_size=8, person=b"mlform-sample")
    return int.from_bytes(digest.digest(), "big") < rate * SCALE


class Stamps:
    """``stamp_ms`` of the writer's records, the second's part formatted once."""

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""
        self.millisecond = -1
        self.last = ""

    def __call__(self, now: float) -> str:
        millisecond = int(now * 1000)
        if millisecond == self.millisecond:  # busy: many requests a millisecond
            return self.last
        second = int(now)
        if second != self.second:
            self.second = second
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        self.millisecond = millisecond
        self.last = f"{self.prefix}.{int(now % 1 * 1000):03d}Z"
        return self.last


def _column(values: Any) -> list[Any]:
    """An input column's values, one a row (numbers as floats, strings as str)."""
    if type(values) is np.ndarray and values.dtype.kind in "fiub":
        flat: list[Any] = values.ravel().tolist()
        return flat
    return as_list(values)


def _rows(values: Any) -> list[Any]:
    """An output's values, one a row (a list for an output of several values a row)."""
    array = values if type(values) is np.ndarray else np.asarray(values)
    if array.ndim <= 1 or array.shape[1:] == (1,):
        return _column(array)
    if array.dtype.kind in "fiub":
        rows: list[Any] = array.reshape(len(array), -1).tolist()
        return rows
    return [as_list(row) for row in array]


def _one(values: Any) -> Any:
    """The value of a one-row input column or output, as ``_column``/``_rows`` give it."""
    if type(values) is np.ndarray:
        kind = values.dtype.kind
        if values.size == 1:
            value = values.item()
            if kind == "O":
                return value.decode() if isinstance(value, bytes) else str(value)
            return value
        if kind in "fiub":
            return values.ravel().tolist()
    return _rows(values)[0]


def prediction_lines(
    now: str,
    deployment: str,
    model: ServedModel,
    protocol: str,
    request_id: str,
    columns: dict[str, Any],
    outputs: dict[str, Any],
    rows: int,
    sent: dict[str, list[Any]] | None = None,
) -> list[bytes]:
    """A request's records, one JSON line a row. Inputs by dataset column, as monitoring
    and retraining read them (from ``sent`` when given: the values as sent, which are the
    columns' values); NaN (a missing value) is written as null."""
    if rows == 1:  # the common case: no lists of one value
        named = model.columns  # input name → dataset column, where they differ
        inputs = (
            {named.get(name, name): values[0] for name, values in sent.items()}
            if sent is not None
            else {named.get(name, name): _one(values) for name, values in columns.items()}
        )
        results = {name: _one(values) for name, values in outputs.items()}
        record = {
            "timestamp": now,
            "request_id": request_id,
            "row": 0,
            "deployment": deployment,
            "model": model.name,
            "version": model.version,
            "protocol": protocol,
            "inputs": inputs,
            "outputs": results,
        }
        return [orjson.dumps(record, option=OPTIONS, default=str)]
    by_column = {model.column(name): _column(values) for name, values in columns.items()}
    by_output = {name: _rows(values) for name, values in outputs.items()}
    lines = []
    for row in range(rows):
        record = {
            "timestamp": now,
            "request_id": request_id,
            "row": row,
            "deployment": deployment,
            "model": model.name,
            "version": model.version,
            "protocol": protocol,
            "inputs": {k: v[row] for k, v in by_column.items()},
            "outputs": {k: v[row] for k, v in by_output.items()},
        }
        lines.append(orjson.dumps(record, option=OPTIONS, default=str))
    return lines


def _lines(lines: list[bytes]) -> list[bytes]:
    return lines


class PredictionLogger:
    def __init__(self, config: PredictionLog, deployment: str) -> None:
        self.deployment = deployment
        self.rate = config.sample_rate
        folder = Path(config.folder)
        self.stamps = Stamps()
        self.unserializable = 0  # rows whose record could not be made (request path)
        self.predictions = BatchWriter(
            RotatingFile(folder / "predictions.jsonl", config.max_bytes, config.backups),
            _lines,
            capacity=config.buffer_rows,
        )
        # Labels are not sampled traffic: none is rotated away, and none is dropped. The
        # log takes at most the bytes of its file and backups, and refuses feedback over that.
        path = folder / "feedback.jsonl"
        self.feedback = BatchWriter(
            RotatingFile(path, config.max_bytes, config.backups, keep=True), _lines
        )
        self.feedback_capacity = config.max_bytes * (config.backups + 1)
        self.feedback_bytes = sum(
            f.stat().st_size
            for f in [
                path,
                *(path.with_name(f"{path.name}.{n}") for n in range(1, config.backups + 1)),
            ]
            if f.is_file()
        )
        self.backups = config.backups

    def log(
        self,
        model: ServedModel,
        protocol: str,
        request_id: str,
        columns: dict[str, Any],
        outputs: dict[str, Any],
        rows: int,
        sent: dict[str, list[Any]] | None = None,
    ) -> None:
        """Buffer a request's records (input columns by input name, outputs as the model
        gave them); never blocks, never raises."""
        if self.rate < 1.0 and not sampled(request_id, self.rate):
            return
        if self.predictions.full(rows):
            return
        try:
            lines = prediction_lines(
                self.stamps(time.time()),
                self.deployment,
                model,
                protocol,
                request_id,
                columns,
                outputs,
                rows,
                sent,
            )
        except Exception:  # a record that cannot be serialized must not fail the request
            self.unserializable += rows
            return
        self.predictions.append(lines, rows)

    def record_feedback(self, model: str, items: list[dict[str, Any]]) -> None:
        """Log labelled rows, or raise LogFull if the log cannot take them all."""
        stamp = stamp_ms()
        lines = [
            orjson.dumps(
                {"timestamp": stamp, "model": model, **item},
                option=orjson.OPT_APPEND_NEWLINE,
                default=str,
            )
            for item in items
        ]
        size = sum(len(line) for line in lines)
        if self.feedback_bytes + size > self.feedback_capacity:
            raise LogFull(
                f"the feedback log is full ({self.feedback_bytes:,} of "
                f"{self.feedback_capacity:,} bytes in feedback.jsonl and its "
                f"{self.backups} backups), and labels are never rotated away: once retraining "
                f"has taken them, stop the server and remove old ones with `mlform feedback "
                f"drop {model} --before TIME`"
            )
        self.feedback_bytes += size
        self.feedback.put(lines, len(lines))

    @property
    def dropped(self) -> int:
        """Prediction rows dropped (buffer full) or not written (serialization, disk)."""
        return (
            self.predictions.dropped
            + self.predictions.failed
            + self.unserializable
            + self.feedback.failed
        )

    def close(self) -> None:
        """Write every buffered record (clean stop: nothing is lost)."""
        self.predictions.close()
        self.feedback.close()
