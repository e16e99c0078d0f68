"""A state as a snapshot and a journal of what each save changed, so a save writes what it
changed, not the whole state: an apply of a 10,000-model monorepo records thousands of
resources one by one, and a state of ~100 MB rewritten after each would be quadratic.

Every backend keeps the same two parts: the snapshot (``State.to_json``: a whole document)
and journal entries, each one save::

    {"serial": 13, "lineage": "…", "mlform_version": "0.1.0", "applied_revision": …,
     "attempted_revision": …, "last_failure": …,
     "resources": {"training.credit-gbm": {…the record…}, "model.old": null}}

(a record of null: the resource was removed). Reading replays the entries newer than the
snapshot in serial order; a save appends one entry, or writes a new snapshot (and drops
the entries) once the journal is as big as the snapshot or has ``MAX_ENTRIES`` entries:
amortized, every byte of state is written a bounded number of times.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

HEADER = (
    "serial",
    "lineage",
    "mlform_version",
    "applied_revision",
    "attempted_revision",
    "last_failure",
)
MAX_ENTRIES = 1000
MIN_JOURNAL_BYTES = 256 * 1024  # below this, a journal is never worth compacting


@dataclass(frozen=True)
class Size:
    """How big a stored state's parts are: what a save decides compaction on."""

    snapshot_bytes: int = 0
    entries: int = 0
    journal_bytes: int = 0

    def plus(self, entry_bytes: int) -> Size:
        return Size(self.snapshot_bytes, self.entries + 1, self.journal_bytes + entry_bytes)

    @property
    def compaction_due(self) -> bool:
        return self.entries >= MAX_ENTRIES or self.journal_bytes > max(
            self.snapshot_bytes, MIN_JOURNAL_BYTES
        )


def encode(document: dict[str, Any]) -> str:
    """A journal entry or snapshot as stored: JSON, ASCII, keys in order."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def entry(header: dict[str, Any], changed: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    return {**{k: header.get(k) for k in HEADER}, "resources": changed}


def replay(snapshot: dict[str, Any], entries: Iterable[Any]) -> dict[str, Any]:
    """The state the snapshot and the entries after it make. Raises ValueError on an entry
    that is not one (the caller says which state is corrupt)."""
    if not isinstance(snapshot.get("resources"), dict):
        raise ValueError("not an mlform state of version 1")
    serial = snapshot.get("serial")
    if not isinstance(serial, int):
        raise ValueError("the state has no serial")
    state = dict(snapshot)
    resources = dict(snapshot["resources"])
    for item in sorted(_checked(entries), key=lambda e: e["serial"]):
        if item["serial"] <= serial:
            continue  # already in the snapshot (a compaction that stopped half way)
        if item["serial"] != serial + 1:
            raise ValueError(f"the journal skips from serial {serial} to {item['serial']}")
        serial = item["serial"]
        state.update({k: item.get(k) for k in HEADER})
        for address, record in item["resources"].items():
            if record is None:
                resources.pop(address, None)
            else:
                resources[address] = record
    state["resources"] = resources
    return state


def _checked(entries: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for item in entries:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("serial"), int)
            or not isinstance(item.get("resources"), dict)
        ):
            raise ValueError("a journal entry is not an mlform state change")
        out.append(item)
    return out
