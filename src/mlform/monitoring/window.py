"""A window of production traffic: the local server's prediction log, or a file given.

The server writes one JSON record per predicted row to ``predictions.jsonl`` and rotates it
by size (``predictions.jsonl.1`` is the newest backup). A window is every record of the
model whose timestamp is within the last ``window`` seconds, read oldest file first. Lines
that are not a JSON object with the expected fields are counted and located, never fatal:
the server may be writing the last line right now.

Ground-truth labels come from ``feedback.jsonl`` (same rotation) and join a prediction by
``(request_id, row)``; the last label given for a row wins, with the extra ``columns`` it
carries (a sensitive attribute the model is not sent, say).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.clock import epoch, stamp_ms
from mlform.errors import UserError

MAX_LOCATED = 5  # corrupt lines named in messages; the rest are only counted
Fields = dict[str, type | tuple[type, ...]]
PREDICTION: Fields = {"timestamp": str, "request_id": str, "inputs": dict}
FEEDBACK: Fields = {"timestamp": str, "request_id": str, "label": (str, int, float)}


@dataclass
class Corrupt:
    count: int = 0
    where: list[str] = field(default_factory=list)

    def add(self, path: Path, line: int, why: str) -> None:
        self.count += 1
        if len(self.where) < MAX_LOCATED:
            self.where.append(f"{path}:{line}: {why}")


@dataclass
class Window:
    """Records of one model within the window, oldest first."""

    source: str
    since: str  # ISO timestamp of the window's start ('' when the input is a file)
    records: list[dict[str, Any]]
    corrupt: Corrupt
    labels: dict[tuple[str, int], Any] = field(default_factory=dict)
    extras: dict[tuple[str, int], dict[str, Any]] = field(
        default_factory=dict
    )  # feedback's columns
    unjoined_labels: int = 0
    label_records: int = 0
    table: Any = None  # the inputs as a DataFrame: given (a table), or built once from records

    @property
    def rows(self) -> int:
        return len(self.table) if self.table is not None else len(self.records)

    def versions(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            version = str(record.get("version") or "")
            counts[version] = counts.get(version, 0) + 1
        return counts

    def inputs(self) -> Any:
        """The inputs as a DataFrame (a column per input seen in any record)."""
        if self.table is None:
            import pandas as pd

            self.table = pd.DataFrame.from_records([r["inputs"] for r in self.records])
        return self.table

    def outputs(self) -> list[dict[str, Any]]:
        return [r.get("outputs") or {} for r in self.records]

    def labelled(self) -> tuple[list[int], list[Any]]:
        """Positions of the records that have a label, and those labels."""
        positions, labels = [], []
        for i, record in enumerate(self.records):
            key = (str(record.get("request_id")), int(record.get("row") or 0))
            if key in self.labels:
                positions.append(i)
                labels.append(self.labels[key])
        return positions, labels

    def column(self, name: str, positions: list[int]) -> list[Any]:
        """``name`` at each of ``positions``: the logged input, else the feedback's column
        (None when neither has it)."""
        out = []
        for i in positions:
            record = self.records[i]
            value = record["inputs"].get(name)
            if value is None:
                key = (str(record.get("request_id")), int(record.get("row") or 0))
                value = self.extras.get(key, {}).get(name)
            out.append(value)
        return out


def rotated(path: Path) -> list[Path]:
    """The log and its backups, oldest first."""
    backups = []
    for candidate in path.parent.glob(path.name + ".*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            backups.append((int(suffix), candidate))
    return [p for _, p in sorted(backups, reverse=True)] + ([path] if path.exists() else [])


def read_records(
    paths: list[Path], since: str, corrupt: Corrupt, required: Fields
) -> list[dict[str, Any]]:
    import orjson

    out: list[dict[str, Any]] = []
    cutoff = epoch(since) if since else 0.0
    for path in paths:
        try:
            if since and path.stat().st_mtime < cutoff - 1:
                continue  # every record in it is older than the window
            data = path.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read {path}: {error.strerror}") from None
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                corrupt.add(path, number, "not a JSON object")
                continue
            if not isinstance(record, dict):
                corrupt.add(path, number, "not a JSON object")
                continue
            wrong = [k for k, kind in required.items() if not isinstance(record.get(k), kind)]
            if wrong:
                corrupt.add(path, number, f"the record lacks {', '.join(map(repr, wrong))}")
                continue
            if since and str(record.get("timestamp", "")) < since:
                continue
            out.append(record)
    return out


def read_log(folder: Path, model: str, window_seconds: float, now: float | None = None) -> Window:
    """Predictions of ``model`` in the last ``window_seconds``, with their labels."""
    now = time.time() if now is None else now
    since = stamp_ms(now - window_seconds)
    corrupt = Corrupt()
    records = [
        r
        for r in read_records(rotated(folder / "predictions.jsonl"), since, corrupt, PREDICTION)
        if r.get("model") == model
    ]
    window = Window(str(folder / "predictions.jsonl"), since, records, corrupt)
    feedback = read_records(rotated(folder / "feedback.jsonl"), since, corrupt, FEEDBACK)
    _join(window, feedback, model)
    return window


def first_timestamp(path: Path) -> str | None:
    """The timestamp of the first well-formed record of ``path`` (its oldest)."""
    import orjson

    try:
        with path.open("rb") as handle:
            for _ in range(100):  # a corrupt head is skipped, up to a point
                line = handle.readline()
                if not line:
                    return None
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("timestamp"), str):
                    return str(record["timestamp"])
    except OSError:
        return None
    return None


def coverage_gap(folder: Path, since: str, span: str, backups: int) -> tuple[Path, str] | None:
    """The oldest log file and a warning when the window starts before the oldest prediction the log still
    holds and the log has rotated records away (every backup name taken): the window then
    holds less than ``span`` of traffic. None when the log covers the window, or when it
    is merely younger than it (the server started within the window)."""
    paths = rotated(folder / "predictions.jsonl")
    if not paths or backups <= 0 or paths[0].name != f"predictions.jsonl.{backups}":
        return None
    oldest = first_timestamp(paths[0])
    if oldest is None or oldest <= since:
        return None
    return paths[0], (
        f"the window of {span} starts at {since}, but the oldest "
        f"prediction the log keeps is from {oldest}: its {backups} rotated files are all "
        "taken, so older records were rotated away and the window holds less than "
        f"{span} of traffic. Raise the Deployment's spec.prediction_log.design_rate (rows "
        "per second the log is sized for) or lower its sample, then `mlform apply`"
    )


def _join(window: Window, feedback: list[dict[str, Any]], model: str) -> None:
    known = {(str(r.get("request_id")), int(r.get("row") or 0)) for r in window.records}
    for item in feedback:
        if item.get("model") not in (None, model):
            continue
        window.label_records += 1
        key = (str(item.get("request_id")), int(item.get("row") or 0))
        if key in known:
            window.labels[key] = item["label"]
            columns = item.get("columns")
            if isinstance(columns, dict):
                window.extras[key] = columns
            else:
                window.extras.pop(key, None)  # the last label given wins, with its columns
        else:
            window.unjoined_labels += 1


def read_file(path: Path, model: str) -> Window:
    """A window from a file: a prediction log (.jsonl) or a table of inputs (.csv, .parquet).

    A table's columns are the inputs (it has no predictions and no labels: those come from
    a log and the feedback path)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    corrupt = Corrupt()
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".log"):
        records = [
            r
            for r in read_records([path], "", corrupt, {"inputs": dict})
            if r.get("model") in (None, model)
        ]
        return Window(str(path), "", records, corrupt)
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"{path}: give a prediction log (.jsonl) or a table (.csv, .parquet)")
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # pyarrow/pandas raise many kinds for a bad file
        raise UserError(f"{path}: cannot read it as {suffix[1:]}: {error}") from None
    return Window(str(path), "", [], corrupt, table=frame)
