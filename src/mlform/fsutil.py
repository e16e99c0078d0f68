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


PRIVATE = 0o600  # state, plans, logs of requests: their owner's only, whatever the umask


def write_atomic(path: Path, content: bytes, mode: int | None = None) -> None:
    """One file: a temp file in the same folder, fsync, rename over the target."""
    write_all([(path, content)], mode)


def write_all(files: Iterable[tuple[Path, bytes]], mode: int | None = None) -> list[Path]:
    """Write every (path, content) or none; return the paths whose content changed.

    Temp files are written and fsynced first (where disk-full and permission errors
    happen); then each target is renamed into place, and if a rename fails the targets
    already replaced are restored from hard-link backups. With ``mode`` the files get
    exactly that mode (the umask does not widen or narrow it); else the umask's default.
    """
    files = list(files)
    for path, _ in files:  # unchanged or not: a link here means someone else's file
        if path.is_symlink():
            raise UserError(f"refusing to write through the symlink {path}")
    pending = [
        (p, c)
        for p, c in files
        if not (p.is_file() and p.read_bytes() == c and (mode is None or _mode(p) == mode))
    ]
    temps: list[tuple[Path, Path]] = []
    try:
        for path, content in pending:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.mlform-tmp-{os.getpid()}")
            temp.unlink(missing_ok=True)
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode
            )
            with os.fdopen(fd, "wb") as handle:
                if mode is not None:
                    os.fchmod(handle.fileno(), mode)
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


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


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
