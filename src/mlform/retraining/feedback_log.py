"""`mlform feedback list|drop MODEL`: the labelled feedback the local servers logged for a
Model, one record per line of ``feedback.jsonl`` and its rotations, and removing bad ones.

A record's id is the sha256 of its Deployment and its line (12 hex digits): stable across
rotations and listings. Dropping rewrites each file that held a dropped record atomically
(a temp file, owner-only 0600, fsync, rename), after a copy of the file as it was in
``.mlform/feedback-backup/<deployment>/<UTC time>/`` (0600 too). A running server keeps its
log open, so a Deployment whose server runs is refused: stop it first."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.clock import epoch
from mlform.engines.process import alive
from mlform.errors import UserError
from mlform.layout import server_dir
from mlform.project import ProjectGraph
from mlform.retraining import ledger
from mlform.spec import Deployment, Model, RetrainPolicy

BACKUPS = Path(".mlform") / "feedback-backup"


@dataclass(frozen=True)
class Record:
    id: str
    deployment: str
    file: str  # relative to the project
    line: int
    timestamp: str
    request_id: str
    row: int
    label: Any
    status: str  # pending | taken | superseded | unjoined

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "file": self.file,
            "line": self.line,
            "timestamp": self.timestamp,
            "request_id": self.request_id,
            "row": self.row,
            "label": self.label,
            "status": self.status,
        }


@dataclass(frozen=True)
class Dropped:
    records: list[Record]
    backups: list[Path]


def _deployments(graph: ProjectGraph, model: str, deployment: str | None) -> list[str]:
    graph.named(Model, model)
    names = [
        d.metadata.name
        for d in graph.all(Deployment)
        if d.spec.model == model and graph.target(d) == "local"
    ]
    if deployment is not None:
        if deployment not in names:
            raise UserError(
                f"Model '{model}' has no local Deployment '{deployment}'"
                + (f" (its local Deployments: {', '.join(names)})" if names else "")
            )
        return [deployment]
    return names


def _line_id(deployment: str, line: bytes) -> str:
    return hashlib.sha256(deployment.encode() + b"\n" + line.strip()).hexdigest()[:12]


def records(graph: ProjectGraph, model: str, deployment: str | None = None) -> list[Record]:
    """Every feedback record of ``model``'s local Deployments, oldest file first."""
    import orjson

    from mlform.monitoring.window import PREDICTION, Corrupt, read_records, rotated

    root = graph.root
    taken: set[str] = set()
    for policy in graph.all(RetrainPolicy):
        if policy.spec.model == model:
            taken |= ledger.appended(root, policy.metadata.name)
    out: list[Record] = []
    for name in _deployments(graph, model, deployment):
        logs = server_dir(root, name) / "logs"
        predicted = {
            (str(r["request_id"]), int(r.get("row") or 0))
            for r in read_records(rotated(logs / "predictions.jsonl"), "", Corrupt(), PREDICTION)
            if r.get("model") == model
        }
        found: list[tuple[Path, int, bytes, dict[str, Any]]] = []
        for path in rotated(logs / "feedback.jsonl"):
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                with contextlib.suppress(orjson.JSONDecodeError):
                    item = orjson.loads(line)
                    if isinstance(item, dict) and item.get("model") in (None, model):
                        found.append((path, number, line, item))
        last = {_key(item): i for i, (_, _, _, item) in enumerate(found)}  # a later label wins
        for i, (path, number, line, item) in enumerate(found):
            key = _key(item)
            if last[key] != i:
                status = "superseded"
            elif key not in predicted:
                status = "unjoined"
            elif f"{name}/{key[0]}/{key[1]}" in taken:
                status = "taken"
            else:
                status = "pending"
            out.append(
                Record(
                    _line_id(name, line),
                    name,
                    path.relative_to(root).as_posix(),
                    number,
                    str(item.get("timestamp", "")),
                    key[0],
                    key[1],
                    item.get("label"),
                    status,
                )
            )
    return out


def _key(item: dict[str, Any]) -> tuple[str, int]:
    row = item.get("row")
    return str(item.get("request_id")), row if isinstance(row, int) else 0


def drop(
    graph: ProjectGraph,
    model: str,
    ids: list[str],
    before: str | None,
    everything: bool,
    deployment: str | None = None,
) -> Dropped:
    """Remove the records named by id (a unique prefix of at least 6 digits will do), those
    logged before ``before`` (a timestamp, or a duration back from now: ``7d``), or all."""
    if sum(map(bool, (ids, before, everything))) != 1:
        raise UserError("say which feedback to drop: --id ID (repeatable), --before TIME or --all")
    found = records(graph, model, deployment)
    chosen = _choose(found, model, ids, before, everything)
    root = graph.root
    for name in sorted({r.deployment for r in chosen}):
        _refuse_running(root, name)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if chosen:
        (root / BACKUPS).mkdir(parents=True, exist_ok=True)
        os.chmod(root / BACKUPS, 0o700)  # the logs hold production inputs
    backups = []
    for file in sorted({r.file for r in chosen}):
        lines = {r.line for r in chosen if r.file == file}
        path = root / file
        deployment_name = next(r.deployment for r in chosen if r.file == file)
        backup = root / BACKUPS / deployment_name / stamp / path.name
        _private_copy(path, backup)
        backups.append(backup)
        data = path.read_bytes().splitlines(keepends=True)
        kept = b"".join(line for number, line in enumerate(data, 1) if number not in lines)
        _private_write(path, kept)
    return Dropped(chosen, backups)


def _choose(
    found: list[Record], model: str, ids: list[str], before: str | None, everything: bool
) -> list[Record]:
    if everything:
        return found
    if before is not None:
        cutoff = _cutoff(before)
        return [r for r in found if r.timestamp and epoch(r.timestamp) < cutoff]
    chosen: list[Record] = []
    for wanted in ids:
        if len(wanted) < 6:
            raise UserError(f"feedback id '{wanted}' is too short: give at least 6 digits")
        matched = {r.id for r in found if r.id.startswith(wanted.lower())}
        if not matched:
            raise UserError(
                f"no feedback record '{wanted}' of Model '{model}' "
                f"(`mlform feedback list {model}` shows them)"
            )
        if len(matched) > 1:
            raise UserError(f"feedback id '{wanted}' is ambiguous: {', '.join(sorted(matched))}")
        chosen += [r for r in found if r.id in matched and r not in chosen]
    return chosen


def _cutoff(text: str) -> float:
    from mlform.clock import duration_seconds

    with contextlib.suppress(UserError, ValueError):
        return time.time() - duration_seconds(text)
    try:
        return epoch(text)
    except ValueError:
        raise UserError(
            f"--before takes a UTC time (2026-11-27T01:17:47Z) or a duration back from now "
            f"(7d, 12h), not '{text}'"
        ) from None


def _refuse_running(root: Path, deployment: str) -> None:
    import json

    record = server_dir(root, deployment) / "server.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        pid = int(json.loads(record.read_text())["pid"])
        if alive(pid):
            raise UserError(
                f"the server of Deployment '{deployment}' (pid {pid}) is running and keeps its "
                "feedback log open: feedback it logged after the rewrite would be lost",
                hint=f"Stop it (`mlform server stop {deployment}`), drop, then start it again.",
            )


def _private_copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private_write(destination, source.read_bytes())
    shutil.copystat(source, destination)
    os.chmod(destination, 0o600)


def _private_write(path: Path, content: bytes) -> None:
    temp = path.with_name(f".{path.name}.mlform-tmp-{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
