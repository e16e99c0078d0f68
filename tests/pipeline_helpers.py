"""Real git + DVC repositories of the examples, for the end-to-end pipeline tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import copy_example

BIN = Path(sys.executable).parent
GIT_ID = ["-c", "user.email=test@example.com", "-c", "user.name=test"]


@dataclass
class Done:
    code: int
    out: str

    @property
    def ran(self) -> list[str]:
        """The stages DVC ran, in order."""
        return [
            line.split("'")[1]
            for line in self.out.splitlines()
            if line.startswith("Running stage '")
        ]


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }


def sh(*args: str | Path, cwd: Path, check: bool = True) -> Done:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env(), capture_output=True, text=True, check=False
    )
    result = Done(done.returncode, done.stdout + done.stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {done.returncode}:\n{result.out}")
    return result


def mlform(*args: str, cwd: Path, check: bool = True) -> Done:
    return sh(BIN / "mlform", *args, cwd=cwd, check=check)


def dvc(*args: str, cwd: Path, check: bool = True) -> Done:
    return sh(BIN / "dvc", *args, cwd=cwd, check=check)


def git(*args: str, cwd: Path) -> Done:
    return sh("git", *GIT_ID, *args, cwd=cwd)


def new_repo(example: str, dest: Path) -> Path:
    root = copy_example(example, dest)
    git("init", "-q", cwd=root)
    dvc("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "specs", cwd=root)
    return root


def clone_repo(source: Path, dest: Path) -> Path:
    """A full copy (git history, DVC cache, outputs): later repros reuse finished stages."""
    shutil.copytree(source, dest, symlinks=True)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
