"""Writing several files as one change: all of them or none, never half a file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from mlform.errors import UserError


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, content: bytes) -> None:
    """One file: a temp file in the same folder, fsync, rename over the target."""
    write_all([(path, content)])


def write_all(files: Iterable[tuple[Path, bytes]]) -> list[Path]:
    """Write every (path, content) or none; return the paths whose content changed.

    Temp files are written and fsynced first (where disk-full and permission errors
    happen); then each target is renamed into place, and if a rename fails the targets
    already replaced are restored from hard-link backups.
    """
    pending = [(p, c) for p, c in files if not (p.is_file() and p.read_bytes() == c)]
    temps: list[tuple[Path, Path]] = []
    try:
        for path, content in pending:
            if path.is_symlink():
                raise UserError(f"refusing to write through the symlink {path}")
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.mlform-tmp-{os.getpid()}")
            with temp.open("wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            temps.append((temp, path))
        _swap(temps)
    finally:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)
    for folder in {p.parent for p, _ in pending}:
        _fsync_dir(folder)
    return [p for p, _ in pending]


def _swap(temps: list[tuple[Path, Path]]) -> None:
    replaced: list[tuple[Path, Path | None]] = []  # targets already swapped, with backups
    backups: list[Path] = []
    try:
        for temp, target in temps:
            backup: Path | None = None
            if target.exists():
                backup = target.with_name(f".{target.name}.mlform-bak-{os.getpid()}")
                backup.unlink(missing_ok=True)
                os.link(target, backup)
                backups.append(backup)
            os.replace(temp, target)
            replaced.append((target, backup))
    except BaseException:
        for target, backup in reversed(replaced):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    finally:
        for backup in backups:
            backup.unlink(missing_ok=True)
