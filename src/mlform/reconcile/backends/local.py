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
from mlform.reconcile.backends import Held, Notice, StateConflict, Stored, busy, journal, polling
from mlform.reconcile.backends.journal import Size


class LocalBackend:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = state_dir(root)

    def path(self, environment: str) -> Path:
        return self.folder / f"{environment}.json"

    def journal_path(self, environment: str) -> Path:
        return self.folder / f"{environment}.journal"

    def where(self, environment: str) -> str:
        return str(self.path(environment))

    def _corrupt(self, path: Path, problem: object) -> UserError:
        return UserError(
            f"the state file {path} is corrupt ({problem}); it was not changed",
            hint=f"Inspect it, or restore the previous state from {self.path(path.stem).name}.backup.",
        )

    def read(self, environment: str) -> Stored | None:
        path = self.path(environment)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._corrupt(path, error.strerror) from None
        length = len(raw)
        try:
            text = raw.decode("utf-8")
            del raw  # the text only, not its bytes too, while it is parsed (a big state)
            snapshot = _loads(text)
        except ValueError as error:  # UnicodeDecodeError included
            raise self._corrupt(path, error) from None
        if not isinstance(snapshot, dict):
            raise self._corrupt(path, "not an object")
        entries, kept = self._entries(environment)
        try:
            data = journal.replay(snapshot, entries) if entries else snapshot
        except ValueError as error:
            raise self._corrupt(self.journal_path(environment), error) from None
        size = Size(length, len(entries), kept)
        return Stored(data, self._token(environment, data, kept), size)

    def _entries(self, environment: str) -> tuple[list[Any], int]:
        """The journal's complete lines, and their length in bytes: a last line without
        its newline is a write a kill cut short, never acknowledged, and is left out."""
        path = self.journal_path(environment)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return [], 0
        kept = raw.rfind(b"\n") + 1
        try:
            return [_loads(line) for line in raw[:kept].splitlines() if line], kept
        except ValueError as error:
            raise self._corrupt(path, error) from None

    def _token(self, environment: str, data: dict[str, Any], journal_bytes: int) -> str:
        """What a compare-and-swap must find: the serial, the snapshot file (inode, size)
        and the length of the journal's complete lines. Writers of one checkout hold its
        lock; this catches a writer that lost it."""
        try:
            info = self.path(environment).stat()
        except FileNotFoundError:
            return ""
        return f"{data.get('serial')}:{info.st_ino}:{info.st_size}:{journal_bytes}"

    def _check(self, environment: str, token: str | None) -> Stored | None:
        current = self.read(environment)
        if (current.token if current else None) != token:
            raise StateConflict(f"the state in {self.path(environment)} changed since it was read")
        return current

    def write(self, environment: str, data: dict[str, Any], token: str | None) -> str:
        path = self.path(environment)
        current = self._check(environment, token)
        local_dir(self.root)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if current is not None:  # the whole previous state, journal included
            backup = (json.dumps(current.data, indent=2) + "\n").encode()
            write_atomic(path.with_name(path.name + ".backup"), backup, PRIVATE)
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode(), PRIVATE)
        # Entries left behind by a kill here are older than the snapshot: replay skips them.
        self.journal_path(environment).unlink(missing_ok=True)
        return self._token(environment, data, 0)

    def append(self, environment: str, entry: dict[str, Any], token: str) -> str:
        serial, ino, size, journal_bytes = token.split(":")
        path = self.journal_path(environment)
        try:
            info = self.path(environment).stat()
            length = path.stat().st_size if path.exists() else 0
        except OSError as error:
            gone = f"the state in {self.path(environment)} is gone ({error.strerror})"
            raise StateConflict(gone) from None
        tail = b""
        if length > int(journal_bytes):
            with path.open("rb") as handle:
                handle.seek(int(journal_bytes))
                tail = handle.read()
        if (
            f"{info.st_ino}:{info.st_size}" != f"{ino}:{size}"
            or length < int(journal_bytes)
            or b"\n" in tail  # a complete entry of another writer
            or entry.get("serial") != int(serial) + 1
        ):
            raise StateConflict(f"the state in {self.path(environment)} changed since it was read")
        line = (journal.encode(entry) + "\n").encode()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE)
        try:
            os.ftruncate(descriptor, int(journal_bytes))  # a torn last line goes
            os.lseek(descriptor, 0, os.SEEK_END)
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        kept = int(journal_bytes) + len(line)
        return f"{entry['serial']}:{ino}:{size}:{kept}"

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


def _loads(raw: str | bytes) -> Any:
    """JSON with Python's json: as fast as orjson on a big state here, and its peak memory
    is the parsed state (orjson's parse buffers add about 4x the file while it runs:
    ~95 MiB on the 97 MB state of a 10,000-model monorepo). It also reads NaN, which
    json.dumps writes for a metric that is not a number."""
    return json.loads(raw)
