"""A short, paste-ready report of an unexpected error; the full traceback goes to a file."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
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


def _write_traceback(exc: BaseException) -> str | None:
    folder = Path(os.environ.get("MLFORM_LOG_DIR", Path(tempfile.gettempdir()) / "mlform"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        path.write_text(f"argv: {sys.argv!r}\n{text}", encoding="utf-8")
    except OSError:
        return None
    return str(path)
