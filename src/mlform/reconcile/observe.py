"""What is actually there, compared with what the state recorded: rendered files on disk,
the pipeline's inputs and outputs (by size and mtime, as DVC's own cache does), registered
versions, and the running servers. No DVC process is started: a plan with nothing to do
must be fast."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mlform.reconcile.plan import Observed
from mlform.reconcile.state import State


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def stat(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def files_stats(root: Path, paths: list[str]) -> dict[str, list[int] | None]:
    return {p: stat(root / p) for p in paths}


def observe(root: Path, state: State) -> Observed:
    observed = Observed()
    for address, item in state.resources.items():
        if item.get("status") == "failed":
            continue
        outputs = item.get("outputs") or {}
        problem = None
        if item["type"] == "file":
            sha = file_sha(root / item["name"])
            recorded = item.get("spec", {}).get("sha256")
            problem = (
                "the file was deleted"
                if sha is None
                else ("the file was edited" if sha != recorded else None)
            )
        elif "stats" in outputs:
            problem = _changed(root, outputs["stats"])
        if item["type"] == "deployment":
            problem = problem or _deployment(root, item)
        if problem:
            observed.drift[address] = problem
    return observed


def _changed(root: Path, recorded: dict[str, Any]) -> str | None:
    for path, was in recorded.items():
        now = stat(root / path)
        if now is None and was is not None:
            return f"{path} was deleted"
        if now != was:
            return f"{path} changed"
    return None


def _deployment(root: Path, item: dict[str, Any]) -> str | None:
    outputs = item.get("outputs") or {}
    if outputs.get("target") == "local":
        from mlform.layout import server_dir
        from mlform.serving import daemon

        running = daemon.status(server_dir(root, item["name"]))
        if running is None:
            return "the local server is not running"
        served = sorted(
            (m.get("version"), m.get("weight")) for m in running.status.get("models", [])
        )
        expected = sorted((m["version"], m["weight"]) for m in outputs.get("models", []))
        if served != expected:
            return f"the server serves {', '.join(f'{v} ({w}%)' for v, w in served)}, not {', '.join(f'{v} ({w}%)' for v, w in expected)}"
        return None
    for path, sha in (outputs.get("files") or {}).items():
        if file_sha(root / path) != sha:
            return f"{path} was edited or deleted"
    return None
