"""What a retrain would train on — the served version, the Dataset's source, the usable
feedback rows and the specs — as one sha256. A challenger rejected on these inputs would be
made again the same way, so `retrain check` and `retrain run` skip them until one changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.project import ProjectGraph
from mlform.retraining import ledger
from mlform.retraining.feedback import usable_rows
from mlform.spec import Model, RetrainPolicy

SPECS = ("dvc.yaml", "params.yaml")  # the compiled pipeline: every spec that shapes training


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    served: str | None
    data: str  # the source's path and sha256
    feedback: int  # usable labelled rows


def _file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return "absent"
    return digest.hexdigest()


def of(graph: ProjectGraph, policy: RetrainPolicy, served: str | None) -> Fingerprint:
    root = graph.root
    dataset = graph.dataset_of(graph.training_of(graph.get(Model, policy.spec.model)))
    source = dataset.spec.source.path
    rows = usable_rows(graph, policy, dataset) if policy.spec.data.include_feedback else None
    parts: dict[str, Any] = {
        "served": served,
        "data": _file(root / source),
        "feedback": rows.digest() if rows else None,
        "specs": {name: _file(root / name) for name in SPECS},
        "policy": policy.spec.model_dump(mode="json"),
    }
    text = json.dumps(parts, sort_keys=True)
    return Fingerprint(
        hashlib.sha256(text.encode()).hexdigest(),
        served,
        f"{source} sha256 {parts['data'][:8]}",
        len(rows.rows) if rows else 0,
    )


def rejected_before(root: Path, policy: str, fingerprint: Fingerprint) -> str | None:
    """Why these inputs are not tried again (their last run was rejected), or None."""
    for run in reversed(ledger.read(root, policy, ledger.RUNS)):
        if run.get("fingerprint") != fingerprint.sha256:
            continue
        if run.get("outcome") != "rejected":
            return None
        return (
            f"the same inputs were rejected at {run.get('started')} ({run.get('why')}): served "
            f"{fingerprint.served or 'none'}, {fingerprint.data}, {fingerprint.feedback} "
            f"labelled row(s), the same specs (fingerprint {fingerprint.sha256[:12]}); waiting "
            "for new data, feedback, specs or a new served version (`mlform retrain run "
            "--force` tries again now)"
        )
    return None
