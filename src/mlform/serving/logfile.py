"""JSON Lines files written in batches by a background thread, rotated by size.

The request path only appends an item to a bounded buffer (a ``deque``: one atomic append,
no lock, no wake-up); the writer thread wakes every ``INTERVAL`` seconds, turns what came
into lines and writes them with one ``os.write`` per file. Memory is bounded by rows: an
item that would take the buffer over its capacity is dropped and counted, never waited for.

Rotation works as ``logging.handlers.RotatingFileHandler``'s (``name.1`` is the newest
backup, ``name.<backups>`` the oldest, which the next rotation removes), with every file
created owner-only (0600) whatever the umask: the records hold request inputs (income, age)
and labels. A ``keep`` file never removes one: once every backup name is taken, the current
file grows on (what the feedback log accepts is bounded before).
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

INTERVAL = 0.05  # seconds between the writer's batches
FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def make_private(folder: Path, name: str) -> None:
    """The log folder 0700 and the files already in it (backups too) 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for old in folder.glob(f"{name}*"):
        if old.is_file() and not old.is_symlink():
            old.chmod(0o600)


class RotatingFile:
    """Appends lines to ``path``, rotating before a file would pass ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int, backups: int, keep: bool = False) -> None:
        make_private(path.parent, path.name)
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.keep = keep
        self.descriptor: int | None = None
        self.size = 0

    def _open(self) -> int:
        if self.descriptor is None:
            self.descriptor = os.open(self.path, FLAGS, 0o600)
            os.fchmod(self.descriptor, 0o600)  # a file left by an older mlform
            self.size = os.fstat(self.descriptor).st_size
        return self.descriptor

    def write(self, lines: list[bytes]) -> None:
        """Write ``lines`` (each ending in a newline), rotating between two lines as needed."""
        self._open()
        chunk: list[bytes] = []
        pending = 0
        for line in lines:
            if (
                self.max_bytes > 0
                and self.size + pending > 0
                and self.size + pending + len(line) > self.max_bytes
                and self._may_rotate()
            ):
                self._write(b"".join(chunk))
                chunk, pending = [], 0
                self._rotate()
            chunk.append(line)
            pending += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def _write(self, data: bytes) -> None:
        descriptor = self._open()
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        self.size += len(data)

    def _name(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    def _may_rotate(self) -> bool:
        if self.backups <= 0:
            return False  # as RotatingFileHandler: no backups, no rotation
        return not (self.keep and self._name(self.backups).exists())

    def _rotate(self) -> None:
        self.close()
        for number in range(self.backups - 1, 0, -1):
            source = self._name(number)
            if source.exists():
                source.replace(self._name(number + 1))  # replaces (removes) the oldest
        if self.path.exists():
            self.path.replace(self._name(1))
        self._open()

    def close(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


class BatchWriter:
    """A bounded buffer of items and the thread that writes them, ``lines(item)`` each.

    ``capacity`` is in rows (``put``'s ``rows``); 0 means unbounded (the caller bounds it)."""

    def __init__(
        self,
        file: RotatingFile,
        lines: Callable[[Any], list[bytes]],
        capacity: int = 0,
    ) -> None:
        self.file = file
        self.lines = lines
        self.capacity = capacity
        self.buffer: collections.deque[tuple[Any, int]] = collections.deque()
        # Each counter has one writer (the request path or the writer thread), so neither
        # needs a lock; the buffer holds ``added - taken`` rows.
        self.added = 0
        self.taken = 0
        self.dropped = 0  # over capacity (request path)
        self.failed = 0  # could not be serialized or written (writer thread)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"log-{file.path.name}", daemon=True)
        self.thread.start()

    def full(self, rows: int) -> bool:
        """Whether ``rows`` more would not fit; if so, they are counted as dropped."""
        if self.capacity and self.added - self.taken + rows > self.capacity:
            self.dropped += rows
            return True
        return False

    def put(self, item: Any, rows: int) -> bool:
        """Buffer ``item`` (``rows`` records); False, and counted as dropped, when full."""
        if self.full(rows):
            return False
        self.append(item, rows)
        return True

    def append(self, item: Any, rows: int) -> None:
        """Buffer ``item`` without asking ``full`` (the caller just did)."""
        self.buffer.append((item, rows))
        self.added += rows

    def _run(self) -> None:
        while not self.stopping.wait(INTERVAL):
            self._drain()
        self._drain()
        self.file.close()

    def _drain(self) -> None:
        buffer = self.buffer
        while buffer:
            lines: list[bytes] = []
            rows = 0
            while buffer and len(lines) < 65_536:
                item, count = buffer.popleft()
                rows += count
                try:
                    lines.extend(self.lines(item))
                except Exception:  # a record that cannot be serialized must not stop the writer
                    self.failed += count
            try:
                self.file.write(lines)
            except OSError:  # a full or gone disk: counted, and the writer goes on
                self.failed += len(lines)
                self.file.close()
            self.taken += rows

    def close(self) -> None:
        """Write what is buffered and stop (at most 10 s)."""
        self.stopping.set()
        self.thread.join(timeout=10)
