"""A short, paste-ready report of an unexpected error; the full traceback goes to a file."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from pathlib import Path

from mlform.version import __version__


def report_bug(exc: BaseException, argv: list[str]) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    log = _write_traceback(exc)
    return "\n".join(
        [
            "mlform hit an unexpected error. This is a bug in mlform, not in your specs.",
            "Please report it with the lines below:",
            "",
            f"    mlform {__version__}, Python {platform.python_version()}, {platform.system()} {platform.machine()}",
            f"    command: mlform {' '.join(argv)}",
            f"    error: {type(exc).__name__}: {exc} (at {where})",
            f"    full traceback: {log}" if log else "    full traceback: could not be written",
        ]
    )


def crash_dir() -> Path:
    """Where crash reports go: ``$MLFORM_LOG_DIR``, else a folder of this user's own
    (``$XDG_STATE_HOME/mlform/crash``, ``~/.local/state/mlform/crash``) — never a shared
    /tmp folder another user could have made first to read reports (argv, tracebacks) or
    plant links."""
    if os.environ.get("MLFORM_LOG_DIR"):
        return Path(os.environ["MLFORM_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "mlform" / "crash"


def _write_traceback(exc: BaseException) -> str | None:
    folder = crash_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as handle:
            handle.write(f"argv: {sys.argv!r}\n{text}")
    except OSError:
        return None
    return str(path)
