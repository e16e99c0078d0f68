"""Prediction and feedback logs for monitoring: JSON Lines, rotated by size, written by a
background thread so a request never waits for the disk.

One prediction record per row::

    {"timestamp": "2026-11-26T23:59:59.123Z", "request_id": "…", "row": 0,
     "deployment": "credit-risk-local", "model": "credit-risk", "version": "v0.1.0",
     "protocol": "v2", "inputs": {"age": 35.0, …}, "outputs": {"label": 0, "probabilities": [0.8, 0.2]}}

One feedback record per labelled row (``POST /v2/models/{name}/feedback``)::

    {"timestamp": "…", "request_id": "…", "row": 0, "model": "credit-risk", "label": 1}
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import queue
import random
import threading
from pathlib import Path
from typing import Any

from mlform.clock import stamp_ms
from mlform.serving.config import PredictionLog

QUEUE_LIMIT = 100_000


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotated by renames, each file created owner-only (0600) whatever the umask: the
    records hold request inputs (income, age) and labels."""

    def _open(self) -> io.TextIOWrapper:
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(descriptor, 0o600)  # a file left by an older mlform
        return open(descriptor, "a", encoding=self.encoding, errors=self.errors)


class KeepingRotatingFileHandler(PrivateRotatingFileHandler):
    """Rotated the same way, except that no file is ever removed: once every backup name is
    taken, the current file grows on (what the feedback log accepts is bounded before)."""

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        last = self.rotation_filename(f"{self.baseFilename}.{self.backupCount}")
        return bool(super().shouldRollover(record)) and not os.path.exists(last)


class LogFull(Exception):
    """The feedback log holds all it may; the message says what to do."""


def make_private(folder: Path, name: str) -> None:
    """The log folder 0700 and the files already in it (backups too) 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for old in folder.glob(f"{name}*"):
        if old.is_file() and not old.is_symlink():
            old.chmod(0o600)


class RecordWriter:
    """A rotating JSON Lines file fed through a bounded queue."""

    def __init__(self, path: Path, max_bytes: int, backups: int, keep: bool = False) -> None:
        make_private(path.parent, path.name)
        kind = KeepingRotatingFileHandler if keep else PrivateRotatingFileHandler
        self.handler = kind(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        self.handler.setFormatter(logging.Formatter("%(message)s"))
        self.queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(QUEUE_LIMIT)
        self.dropped = 0
        self.thread = threading.Thread(target=self._drain, name=f"log-{path.name}", daemon=True)
        self.thread.start()

    def put(self, records: list[dict[str, Any]]) -> None:
        try:
            self.queue.put_nowait(records)
        except queue.Full:
            self.dropped += len(records)

    def _drain(self) -> None:
        import orjson

        while True:
            batch = self.queue.get()
            if batch is None:
                break
            for record in batch:
                try:  # NaN (a missing value) is written as null
                    message = orjson.dumps(
                        record, option=orjson.OPT_SERIALIZE_NUMPY, default=str
                    ).decode()
                    self.handler.emit(
                        logging.LogRecord("mlform", logging.INFO, "", 0, message, None, None)
                    )
                except Exception:  # a record that cannot be written must not stop the writer
                    self.dropped += 1
        self.handler.close()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)


class PredictionLogger:
    def __init__(self, config: PredictionLog, deployment: str) -> None:
        self.deployment = deployment
        self.rate = config.sample_rate
        folder = Path(config.folder)
        self.predictions = RecordWriter(
            folder / "predictions.jsonl", config.max_bytes, config.backups
        )
        # Labels are not sampled traffic: none is rotated away. The log takes at most the
        # bytes of its file and backups, and refuses feedback over that.
        path = folder / "feedback.jsonl"
        self.feedback = RecordWriter(path, config.max_bytes, config.backups, keep=True)
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
        model: str,
        version: str,
        protocol: str,
        request_id: str,
        inputs: dict[str, list[Any]],
        outputs: dict[str, list[Any]],
        rows: int,
    ) -> None:
        if self.rate < 1.0 and random.random() >= self.rate:
            return
        now = stamp_ms()
        records = []
        for row in range(rows):
            records.append(
                {
                    "timestamp": now,
                    "request_id": request_id,
                    "row": row,
                    "deployment": self.deployment,
                    "model": model,
                    "version": version,
                    "protocol": protocol,
                    "inputs": {k: v[row] for k, v in inputs.items()},
                    "outputs": {k: v[row] for k, v in outputs.items()},
                }
            )
        self.predictions.put(records)

    def record_feedback(self, model: str, items: list[dict[str, Any]]) -> None:
        """Log labelled rows, or raise LogFull if the log cannot take them all."""
        import orjson

        now = stamp_ms()
        records = [{"timestamp": now, "model": model, **item} for item in items]
        size = sum(len(orjson.dumps(r, default=str)) + 1 for r in records)
        if self.feedback_bytes + size > self.feedback_capacity:
            raise LogFull(
                f"the feedback log is full ({self.feedback_bytes:,} of "
                f"{self.feedback_capacity:,} bytes in feedback.jsonl and its "
                f"{self.backups} backups), and labels are never rotated away: once retraining "
                f"has taken them, stop the server and remove old ones with `mlform feedback "
                f"drop {model} --before TIME`"
            )
        self.feedback_bytes += size
        self.feedback.put(records)

    @property
    def dropped(self) -> int:
        return self.predictions.dropped + self.feedback.dropped

    def close(self) -> None:
        self.predictions.close()
        self.feedback.close()
