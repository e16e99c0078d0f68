"""The ``local`` backend: ``.mlform/state/<env>.json`` in this checkout (written atomically,
the previous file kept as ``.backup``) and ``<env>.lock``, created exclusively. For one
machine: a lock whose process is gone on this host is stale and taken over."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlform.engines.process import alive
from mlform.errors import UserError
from mlform.fsutil import PRIVATE, write_atomic
from mlform.layout import local_dir, state_dir
from mlform.reconcile.backends import Held, Notice, StateConflict, Stored, busy, polling


class LocalBackend:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = state_dir(root)

    def path(self, environment: str) -> Path:
        return self.folder / f"{environment}.json"

    def where(self, environment: str) -> str:
        return str(self.path(environment))

    def read(self, environment: str) -> Stored | None:
        path = self.path(environment)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UserError(
                f"the state file {path} is corrupt ({error}); it was not changed",
                hint=f"Inspect it, or restore the previous state from {path.name}.backup.",
            ) from None
        if not isinstance(data, dict):
            raise UserError(f"the state file {path} is corrupt (not an object); it was not changed")
        return Stored(data, str(data.get("serial")))

    def write(self, environment: str, data: dict[str, Any], token: str | None) -> str:
        path = self.path(environment)
        current = self.read(environment)
        if (current.token if current else None) != token:
            raise StateConflict(f"the state in {path} changed since it was read")
        local_dir(self.root)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            write_atomic(path.with_name(path.name + ".backup"), path.read_bytes(), PRIVATE)
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode(), PRIVATE)
        return str(data.get("serial"))

    def environments(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json"))

    # --- the lock ---------------------------------------------------------------------
    def lock_path(self, environment: str) -> Path:
        return self.folder / f"{environment}.lock"

    def read_lock(self, environment: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.lock_path(environment).read_text())
            return data
        except (OSError, ValueError):
            return None

    @contextmanager
    def lock(
        self, environment: str, info: dict[str, Any], timeout: float, notice: Notice
    ) -> Iterator[Held]:
        path = self.lock_path(environment)
        local_dir(self.root)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        mine = {**info, "pid": os.getpid(), "host": socket.gethostname()}
        waits = polling(timeout)
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                holder = self.read_lock(environment)
                if (
                    holder is not None
                    and holder.get("host") == socket.gethostname()
                    and not alive(int(holder.get("pid", -1)))
                ):
                    # The process that held it is gone (a killed job on this machine).
                    path.unlink(missing_ok=True)
                    notice(
                        f"Removed a stale lock {holder.get('ID')} of {holder.get('Who')} "
                        f"(process {holder.get('pid')} is gone)."
                    )
                    continue
                pause = next(waits, None)
                if pause is None:
                    raise busy(environment, holder) from None
                time.sleep(pause)
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(mine, handle, indent=2)
            break
        try:
            yield Held(mine)
        finally:
            current = self.read_lock(environment)
            if current is not None and current.get("ID") == mine["ID"]:
                path.unlink(missing_ok=True)

    def force_unlock(self, environment: str, lock_id: str) -> dict[str, Any]:
        holder = self.read_lock(environment)
        if holder is None:
            raise UserError(f"the '{environment}' environment is not locked")
        if holder.get("ID") != lock_id:
            raise UserError(f"the lock of '{environment}' has ID {holder.get('ID')}, not {lock_id}")
        self.lock_path(environment).unlink(missing_ok=True)
        return holder
