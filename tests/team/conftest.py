"""A team on one machine: a bare origin, a local-directory DVC remote, and clones standing
for runner A, a fresh runner B and a laptop C; a real PostgreSQL for the postgres backend
(Debian's `postgresql`: initdb and pg_ctl on a unix socket in a temporary folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.pipeline_helpers import BIN, Done, env, git

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of the tests' own, reached on a unix socket: its DSN."""
    if not PG_BIN or not (PG_BIN[-1] / "initdb").is_file():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (Debian package `postgresql`)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    bin_dir = PG_BIN[-1]
    # Outside pytest's folder (readable by its owner only), so the server's user can reach it.
    base = Path(tempfile.mkdtemp(prefix="mlform-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root; Debian's package brings the user
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "mlform"],
        check=True,
        capture_output=True,
    )
    options = f"-k {base} -c listen_addresses='' -c max_connections=50"
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql:///postgres?host={base}&user=mlform"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Team:
    origin: Path
    storage: Path
    a: Path
    b: Path
    c: Path
    extra: dict[str, str]

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
    return Team(origin, storage, a, clones[0], clones[1], extra)
