"""The external programs mlform runs (dvc, git), found beside this Python first so an
unactivated virtual environment works the same as an activated one."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which(name) or name


def dvc_env(**extra: str) -> dict[str, str]:
    """The environment for dvc and the stages it runs (`mlform stage …`): this Python's
    scripts first on PATH."""
    folder = Path(executable("dvc")).parent
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
