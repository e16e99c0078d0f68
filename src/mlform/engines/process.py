"""Starting external programs: the only place mlform calls ``subprocess``.

A program that is not installed, or a command that fails, becomes a :class:`UserError` that
names the command, shows the last lines it printed and says what to do: exit 1, never a
traceback. Programs are looked up beside this Python first, so an unactivated virtual
environment finds its own ``dvc`` the same as an activated one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlform.errors import UserError

TAIL_LINES = 5

HINTS = {
    "git": "Install git (https://git-scm.com/downloads) and make sure it is on PATH.",
    "dvc": "DVC is installed with mlform: run mlform from the environment it was installed "
    "in, or put that environment's bin folder on PATH.",
}
NEEDED_FOR = {
    "git": "the model registry, plans and retraining live in git",
    "dvc": "DVC runs the pipeline",
}


class ProgramMissing(UserError):
    """The program is not installed (or not on PATH)."""

    def __init__(self, program: str) -> None:
        why = NEEDED_FOR.get(program)
        super().__init__(
            f"{program} is not installed or not on PATH" + (f"; {why}" if why else ""),
            hint=HINTS.get(program, f"Install {program} and make sure it is on PATH."),
        )
        self.program = program


class CommandFailed(UserError):
    """A command exited non-zero; ``output`` is what it printed."""

    def __init__(self, command: str, code: int, output: str, hint: str = "") -> None:
        lines = [line for line in output.strip().splitlines() if line.strip()]
        tail = "\n".join(f"  {line}" for line in lines[-TAIL_LINES:])
        super().__init__(
            f"`{command}` failed (exit {code})" + (f":\n{tail}" if tail else ""), hint=hint
        )
        self.command = command
        self.code = code
        self.output = output
        self.last_line = lines[-1] if lines else ""


@dataclass(frozen=True)
class Done:
    """A finished command."""

    command: str  # as shown to people: the program's name and its arguments
    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def output(self) -> str:
        return (self.stderr or "") + (self.stdout or "")


def find(program: str) -> str | None:
    """The program's path: beside this Python first, then on PATH."""
    beside = Path(sys.executable).parent / program
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(program)


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the programs mlform starts: this Python's scripts first on PATH
    (so `dvc repro` finds `mlform stage` of the same installation)."""
    path = os.environ.get("PATH", "")
    folder = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{path}", **(extra or {})}


def shown(program: str, args: Sequence[str]) -> str:
    return " ".join([program, *args])


def run(
    program: str,
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    hint: str = "",
    stdin: str | None = None,
) -> Done:
    """Run ``program args`` and wait. ``check``: a non-zero exit raises CommandFailed.
    ``capture=False`` lets the command print straight to the terminal; ``stdin`` is written
    to the program's standard input."""
    path = find(program)
    if path is None:
        raise ProgramMissing(program)
    try:
        done = subprocess.run(
            [path, *args],
            cwd=cwd,
            env=environment(env),
            capture_output=capture,
            text=True,
            check=False,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError:  # removed between find() and exec()
        raise ProgramMissing(program) from None
    except OSError as error:
        raise UserError(f"cannot run {program}: {error.strerror or error}") from None
    result = Done(shown(program, args), done.returncode, done.stdout or "", done.stderr or "")
    if check and not result.ok:
        raise CommandFailed(result.command, result.code, result.output, hint)
    return result


def spawn(args: Sequence[str], *, cwd: Path, log: IO[bytes]) -> int:
    """Start this Python with ``args`` in the background, in its own session (so a signal
    to mlform does not reach it), output appended to ``log``; return its pid."""
    process = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        cwd=cwd,
    )
    return process.pid


def alive(pid: int) -> bool:
    """Whether a process of this machine runs under ``pid`` (a zombie child does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: it is alive
        return True
    return done == 0
