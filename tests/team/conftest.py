"""A team on one machine: a bare origin, a local-directory DVC remote, and clones standing
for runner A, a fresh runner B and a laptop C; a real PostgreSQL for the postgres backend
(Debian's `postgresql`: initdb and pg_ctl on a unix socket in a temporary folder)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.pipeline_helpers import BIN, Done, env, git
from tests.postgres import postgres

__all__ = ["postgres"]

SPEC = "ml/diabetes.yaml"
KSERVE = """apiVersion: mlform/v1
kind: Deployment
metadata:
  name: diabetes-kserve
spec:
  model: diabetes-progression
  target: kserve
"""


def run(*args: str, cwd: Path, extra: dict[str, str] | None = None, check: bool = True) -> Done:
    done = subprocess.run(
        [str(BIN / "mlform"), *args],
        cwd=cwd,
        env={**env(), **(extra or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    result = Done(done.returncode, done.stdout + done.stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"mlform {' '.join(args)} exited {done.returncode}:\n{result.out}")
    return result


@dataclass
class Team:
    origin: Path
    storage: Path
    a: Path
    b: Path
    c: Path
    extra: dict[str, str]
    backend: str

    def mlform(self, who: Path, *args: str, check: bool = True) -> Done:
        return run(*args, cwd=who, extra=self.extra, check=check)

    def popen(self, who: Path, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(BIN / "mlform"), *args],
            cwd=who,
            env={**env(), **self.extra, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def push(self, who: Path, message: str) -> None:
        git("commit", "-qam", message, cwd=who)
        git("push", "-q", "origin", "HEAD:main", cwd=who)

    def pull(self, who: Path) -> None:
        git("pull", "-q", "--ff-only", "origin", "main", cwd=who)

    def tags(self) -> list[str]:
        out = subprocess.run(
            ["git", "tag"], cwd=self.origin, capture_output=True, text=True, check=True
        )
        return out.stdout.split()


def state_settings(backend: str) -> str:
    if backend == "git":
        return "  state:\n    backend: git\n    git: {lease: 4s}\n"
    return "  state:\n    backend: postgres\n"


def make_team(base: Path, backend: str, extra: dict[str, str]) -> Team:
    """The diabetes example as the team's repository (its Triton Deployment only: runners
    serve nothing), with the state backend and a DVC remote; A made it and pushed it."""
    origin, storage = base / "origin.git", base / "dvc-remote"
    storage.mkdir()
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    a = base / "runner-a"
    run("init", str(a), "--example", "diabetes-regression", cwd=base)
    spec = a / SPEC
    documents = spec.read_text().split("\n---\n")
    kept = [d for d in documents if "name: diabetes-local" not in d and "RetrainPolicy" not in d]
    kept.append(KSERVE)
    spec.write_text("\n---\n".join(kept))
    project = a / "mlform.yaml"
    project.write_text(
        project.read_text().replace(
            "spec:\n  specs: [ml]\n",
            f"spec:\n  specs: [ml]\n{state_settings(backend)}  remote: {{url: {storage}}}\n",
        )
    )
    run("compile", cwd=a)
    git("add", "-A", cwd=a)
    git("commit", "-qm", "the team's project", cwd=a)
    git("remote", "add", "origin", str(origin), cwd=a)
    git("push", "-q", "origin", "main", cwd=a)
    clones = []
    for name in ("runner-b", "laptop-c"):
        subprocess.run(["git", "clone", "-q", str(origin), str(base / name)], check=True)
        clones.append(base / name)
    return Team(origin, storage, a, clones[0], clones[1], extra, backend)
