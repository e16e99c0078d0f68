"""What is actually there, compared with what the state recorded: rendered files on disk,
the pipeline's inputs and outputs by content (md5, as DVC hashes them), and the running
servers. No DVC process is started: a plan with nothing to do must be fast.

A file whose size and mtime are those of its last hash is not hashed again (a per-checkout
cache in ``.mlform/cache/content.json``, as DVC's own state database does); a new mtime only
means "hash it", never "changed", so a fresh clone or a ``touch`` plans nothing. Only a
pipeline's inputs (the data) can drift: its outputs are derived, this checkout's may be
absent or older than another runner's apply, and DVC restores them from the remote and its
run-cache when a stage needs them.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

from mlform.fsutil import PRIVATE, write_atomic
from mlform.layout import LOCAL, local_dir
from mlform.reconcile.changes import Observed
from mlform.reconcile.state import State
from mlform.written import written

CACHE = Path(LOCAL) / "cache" / "content.json"


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Contents:
    """md5 of the project's files, each computed once per size and mtime."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root = root
        self.path = root / CACHE
        try:
            self.known: dict[str, list[Any]] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def md5(self, relative: str) -> str | None:
        path = self.root / relative
        try:
            info = path.stat()
        except OSError:
            return None
        key = [info.st_size, info.st_mtime_ns, info.st_ino]
        cached = self.known.get(relative)
        if cached is not None and cached[:3] == key:
            return str(cached[3])
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError:
            return None
        self.known[relative] = [*key, digest.hexdigest()]
        self.changed = True
        return digest.hexdigest()

    def record(self, inputs: list[str], outputs: list[str]) -> dict[str, dict[str, Any]]:
        """What the state keeps of a pipeline resource's files: content, and role."""
        out: dict[str, dict[str, Any]] = {}
        for role, paths in (("input", inputs), ("output", outputs)):
            for relative in paths:
                out[relative] = {"role": role, "md5": self.md5(relative)}
        return out

    def save(self) -> None:
        if not self.changed:
            return
        local_dir(self.root)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".content.{os.getpid()}.json")
        temp.write_text(json.dumps(self.known))
        os.replace(temp, self.path)
        self.changed = False


def checkout_id(root: Path) -> str:
    """This checkout's identity: which of the team's checkouts runs a local server. Local
    servers are observed, started and stopped only from the checkout that serves them."""
    path = local_dir(root) / "checkout-id"
    if path.is_file() and not path.is_symlink():
        return path.read_text().strip()
    identity = str(uuid.uuid4())
    write_atomic(path, (identity + "\n").encode(), PRIVATE)  # refuses a symlink there
    return identity


def observe(root: Path, state: State, only: Collection[str] | None = None) -> Observed:
    """Drift of every recorded resource (or of those ``only`` names: a targeted plan
    looks at nothing outside its selection)."""
    observed = Observed()
    contents = Contents(root)
    here = checkout_id(root)
    for address, item in state.resources.items():
        if item.get("status") == "failed" or (only is not None and address not in only):
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
        elif "files" in outputs and item["type"] != "deployment":
            problem = _changed(contents, outputs["files"])
        elif "stats" in outputs:  # recorded by mlform 0.1: size and mtime
            problem = _stat_changed(root, outputs["stats"])
        if item["type"] == "deployment":
            problem = problem or _deployment(root, item, here)
        if problem:
            observed.drift[address] = problem
    contents.save()
    return observed


def _changed(contents: Contents, recorded: dict[str, Any]) -> str | None:
    for path, was in recorded.items():
        if was.get("role") != "input":
            continue  # outputs are derived: restored from the remote when a stage needs them
        now = contents.md5(path)
        if now is None and was.get("md5") is not None:
            return f"{path} was deleted"
        if now != was.get("md5"):
            return f"{path} changed"
    return None


def _stat_changed(root: Path, recorded: dict[str, Any]) -> str | None:
    for path, was in recorded.items():
        try:
            info = (root / path).stat()
            now: list[int] | None = [info.st_size, info.st_mtime_ns]
        except OSError:
            now = None
        if now is None and was is not None:
            return f"{path} was deleted"
        if now != was:
            return f"{path} changed"
    return None


def _deployment(root: Path, item: dict[str, Any], here: str) -> str | None:
    outputs = item.get("outputs") or {}
    if outputs.get("target") == "local":
        if outputs.get("checkout", here) != here:
            return None  # served from another checkout: not observable from this one
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
    ours = written(root)
    for path, sha in (outputs.get("files") or {}).items():
        now = file_sha(root / path)
        # absent: rendered again when needed; what this checkout wrote before another
        # runner's apply: stale, not edited
        if now is not None and now != sha and now not in ours.get(path, []):
            return f"{path} was edited"
    return None
