"""State per environment, and its lock.

``.mlform/state/<environment>.json``::

    {"version": 1, "serial": 12, "lineage": "…uuid…", "mlform_version": "0.1.0",
     "applied_revision": "<git sha>", "attempted_revision": "<git sha>",
     "last_failure": {"revision": "…", "specs": "…", "at": "…", "errors": ["…"]} | null,
     "resources": {"training.credit-gbm": {"type": "training", "name": "credit-gbm",
         "spec_hash": "…", "meta_hash": "…", "spec": {…}, "meta": {…},
         "depends_on": ["dataset.credit", …], "prevent_destroy": false,
         "status": "applied" | "failed", "error": "…", "outputs": {…}, "applied_at": "…"}}}

Written atomically (temp file, fsync, rename) with the previous state kept as
``<environment>.json.backup``. A file that does not parse is reported, never overwritten.
The lock, ``<environment>.lock``, is created exclusively and carries Terraform's lock info.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.clock import stamp
from mlform.engines.process import alive
from mlform.errors import UserError
from mlform.fsutil import write_atomic
from mlform.layout import state_dir
from mlform.version import __version__

STATE_VERSION = 1
DEFAULT_ENV = "default"


def now() -> str:
    return stamp()


@dataclass
class State:
    path: Path
    serial: int = 0
    lineage: str = field(default_factory=lambda: str(uuid.uuid4()))
    applied_revision: str | None = None
    attempted_revision: str | None = None
    last_failure: dict[str, Any] | None = None
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    exists: bool = False
    checkpoint: Callable[[], None] | None = field(default=None, repr=False)  # crash tests

    @classmethod
    def load(cls, root: Path, environment: str) -> State:
        path = state_dir(root) / f"{environment}.json"
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if (
                not isinstance(data, dict)
                or data.get("version") != STATE_VERSION
                or not isinstance(data.get("resources"), dict)
            ):
                raise ValueError("not an mlform state file of version 1")
            return cls(
                path,
                int(data["serial"]),
                str(data["lineage"]),
                data.get("applied_revision"),
                data.get("attempted_revision"),
                data.get("last_failure"),
                data["resources"],
                True,
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(
                f"the state file {path} is corrupt ({error}); it was not changed",
                hint=f"Inspect it, or restore the previous state from {path.name}.backup.",
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "serial": self.serial,
            "lineage": self.lineage,
            "mlform_version": __version__,
            "applied_revision": self.applied_revision,
            "attempted_revision": self.attempted_revision,
            "last_failure": self.last_failure,
            "resources": dict(sorted(self.resources.items())),
        }

    def save(self) -> None:
        """serial + 1, then an atomic write that keeps the previous file as the backup."""
        self.serial += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            backup = self.path.with_name(self.path.name + ".backup")
            write_atomic(backup, self.path.read_bytes())
        if self.checkpoint is not None:
            self.checkpoint()
        write_atomic(self.path, (json.dumps(self.to_json(), indent=2) + "\n").encode())
        self.exists = True


@dataclass(frozen=True)
class Lock:
    info: dict[str, Any]
    path: Path


def lock_path(root: Path, environment: str) -> Path:
    return state_dir(root) / f"{environment}.lock"


def read_lock(root: Path, environment: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(lock_path(root, environment).read_text())
        return data
    except (OSError, ValueError):
        return None


@contextmanager
def locked(
    root: Path,
    environment: str,
    operation: str,
    timeout: float,
    on_stale: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Lock]:
    """Hold the environment's lock; wait up to ``timeout`` seconds for another holder."""
    path = lock_path(root, environment)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "ID": str(uuid.uuid4()),
        "Operation": operation,
        "Who": f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()}",
        "Version": __version__,
        "Created": now(),
        "Path": str(path),
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = read_lock(root, environment)
            if (
                holder is not None
                and holder.get("host") == socket.gethostname()
                and not alive(int(holder.get("pid", -1)))
            ):
                # The process that held it is gone (a killed CI job): the lock is stale.
                path.unlink(missing_ok=True)
                if on_stale is not None:
                    on_stale(holder)
                continue
            if time.monotonic() >= deadline:
                who = (
                    "unknown"
                    if holder is None
                    else f"{holder.get('Who')} ({holder.get('Operation')}, since {holder.get('Created')}, ID {holder.get('ID')})"
                )
                raise UserError(
                    f"the '{environment}' environment is locked by {who}",
                    hint="Wait for it, raise --lock-timeout, or if it is stuck: mlform force-unlock ID",
                ) from None
            time.sleep(0.2)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle, indent=2)
        break
    try:
        yield Lock(info, path)
    finally:
        current = read_lock(root, environment)
        if current is not None and current.get("ID") == info["ID"]:
            path.unlink(missing_ok=True)


def force_unlock(root: Path, environment: str, lock_id: str) -> dict[str, Any]:
    holder = read_lock(root, environment)
    if holder is None:
        raise UserError(f"the '{environment}' environment is not locked")
    if holder.get("ID") != lock_id:
        raise UserError(f"the lock of '{environment}' has ID {holder.get('ID')}, not {lock_id}")
    lock_path(root, environment).unlink(missing_ok=True)
    return holder
