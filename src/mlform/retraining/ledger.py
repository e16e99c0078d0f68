"""A RetrainPolicy's ledgers in ``.mlform/retrain/<policy>/``: ``decisions.jsonl`` (every
check, with why), ``runs.jsonl`` (every retrain and its outcome) and ``appended.json`` (the
feedback rows already taken)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlform.layout import local_dir, retrain_dir
from mlform.runtime.outputs import clean, write_json

DECISIONS = "decisions.jsonl"
RUNS = "runs.jsonl"
APPENDED = "appended.json"
# A new model starts the cooldown; every run that trained counts toward max_frequency. A
# rejection does not start the cooldown (the model served did not change, and the rejected
# inputs are not tried again: fingerprint.py), but its training counts toward the frequency.
COOLDOWN = ("promoted", "proposed")


def trained(run: dict[str, Any]) -> bool:
    """Whether a run trained a challenger (a rejection for lack of new rows did not)."""
    outcome = run.get("outcome")
    return outcome in COOLDOWN or (outcome == "rejected" and bool(run.get("trained", True)))


def append(root: Path, policy: str, ledger: str, record: dict[str, Any]) -> None:
    path = retrain_dir(root, policy) / ledger
    local_dir(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(clean(record), sort_keys=True) + "\n")


def read(root: Path, policy: str, ledger: str) -> list[dict[str, Any]]:
    """The ledger's records, oldest first; lines that do not parse are skipped."""
    path = retrain_dir(root, policy) / ledger
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def appended(root: Path, policy: str) -> set[str]:
    path = retrain_dir(root, policy) / APPENDED
    return set(json.loads(path.read_text())) if path.is_file() else set()


def remember(root: Path, policy: str, keys: list[str]) -> None:
    if keys:
        path = retrain_dir(root, policy) / APPENDED
        write_json(path, sorted(appended(root, policy) | set(keys)))
