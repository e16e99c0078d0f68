"""Crash safety (kill -9 an apply at every checkpoint) and reconciliation on every push."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.pipeline_helpers import edit, env, git
from tests.postgres import postgres
from tests.reconcile.helpers import diabetes_project, mlform, predict, state, stop_servers

pytestmark = pytest.mark.slow
__all__ = ["postgres"]  # the fixture
SPACE_A = "alpha: [0.01, 0.1, 1.0, 10.0]"
SPACE_B = "alpha: [0.02, 0.2, 2.0, 20.0]"


class Watcher:
    """Keeps asking the server for predictions; every failure is recorded."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.failures: list[str] = []
        self.versions: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.versions.add(predict(self.port)["model_version"])
            except Exception as error:
                self.failures.append(repr(error))
            time.sleep(0.02)

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def test_kill_9_at_every_point_of_an_apply_converges(tmp_path: Path) -> None:
    root, port = diabetes_project(tmp_path / "crash")
    spec = root / "ml/diabetes.yaml"
    try:
        mlform("apply", "--auto-approve", cwd=root)
        edit(spec, SPACE_A, SPACE_B)
        mlform("apply", "--auto-approve", cwd=root)  # the uninterrupted run of B
        expected = {"v0.1.0": SPACE_A, "v0.2.0": SPACE_B}
        edit(spec, SPACE_B, SPACE_A)
        mlform("apply", "--auto-approve", cwd=root)
        assert predict(port)["model_version"] == "v0.1.0"
        points = 0
        with Watcher(port) as watcher:
            for point in range(1, 60):
                target = "v0.2.0" if point % 2 else "v0.1.0"
                current = expected["v0.1.0" if target == "v0.2.0" else "v0.2.0"]
                edit(spec, current, expected[target])
                crashed = mlform(
                    "apply",
                    "--auto-approve",
                    cwd=root,
                    check=False,
                    extra_env={"MLFORM_CRASH_AT": str(point)},
                )
                if crashed.code == 0:  # past the last checkpoint: the apply finished
                    break
                assert crashed.code == -9, crashed.out
                points += 1
                json.loads((root / ".mlform/state/default.json").read_text())  # the state parses
                mlform("apply", "--auto-approve", cwd=root)  # the next apply converges …
                assert (
                    state(root)["resources"]["model.diabetes-progression"]["outputs"]["version"]
                    == target
                )
                assert predict(port)["model_version"] == target
                assert (
                    mlform("plan", "--detailed-exitcode", cwd=root).code == 0
                )  # … to the same end
        print(f"\nkilled at {points} distinct points; every next apply converged")
        assert points >= 20
        assert watcher.failures == []  # the last good version kept serving throughout
        assert watcher.versions == {"v0.1.0", "v0.2.0"}
        assert subprocess.run(
            ["git", "tag"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split() == ["diabetes-progression@v0.1.0", "diabetes-progression@v0.2.0"]
    finally:
        stop_servers(root)


def push(repo: Path, extra: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"],
        cwd=repo,
        env={**os.environ, **(extra or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_every_push_is_reconciled(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    dev, port = diabetes_project(tmp_path / "dev")
    git("remote", "add", "origin", str(origin), cwd=dev)
    worktree = tmp_path / "deployed"
    try:
        push(dev)
        mlform(
            "hooks",
            "install",
            "--bare-repo",
            str(origin),
            "--worktree",
            str(worktree),
            cwd=tmp_path,
        )
        git("commit", "-q", "--allow-empty", "-m", "trigger", cwd=dev)
        first = push(dev)
        assert (
            "remote: revision " in first and " applied: 12 added, 0 changed, 0 destroyed" in first
        )
        assert predict(port)["model_version"] == "v0.1.0"

        edit(dev / "ml/diabetes.yaml", SPACE_A, SPACE_B)
        git("commit", "-qam", "other alphas", cwd=dev)
        output = push(dev)
        assert "remote: model.diabetes-progression: updated (v0.2.0)" in output
        assert predict(port)["model_version"] == "v0.2.0"

        git("revert", "--no-edit", "HEAD", cwd=dev)
        output = push(dev)
        assert (
            "remote: model.diabetes-progression: updated (v0.1.0)" in output
        )  # the same model: rolled back
        assert predict(port)["model_version"] == "v0.1.0"

        edit(dev / "ml/diabetes.yaml", "class: Ridge", "class: Ridgee")
        git("commit", "-qam", "a typo", cwd=dev)
        output = push(dev)
        assert (
            "remote: ml/diabetes.yaml:" in output
            and "error E108" in output
            and "has invalid specs; nothing was changed" in output
        )
        assert predict(port)["model_version"] == "v0.1.0"
        recorded = state(worktree)
        # the default backend (auto) of a clone of origin is git: the state is origin's
        listed = mlform("state", "list", cwd=dev).out
        assert "refs/mlform/state/default on origin" in listed, listed
        assert recorded["attempted_revision"] != recorded["applied_revision"]
        assert recorded["last_failure"]["errors"] == [
            "the specs have errors (run `mlform validate`)"
        ]

        origin_tags = subprocess.run(
            ["git", "tag"], cwd=origin, capture_output=True, text=True, check=True
        ).stdout.split()
        assert origin_tags == [
            "diabetes-progression@v0.1.0",
            "diabetes-progression@v0.2.0",
        ]  # the registry is pushed
    finally:
        stop_servers(worktree)


STATE = {
    "local": "  state:\n    backend: local\n",
    "git": "  state:\n    backend: git\n",
    "postgres": "  state:\n    backend: postgres\n    postgres: {table: hooked_state}\n",
}


@pytest.mark.parametrize("backend", ["local", "git", "postgres"])
def test_two_pushes_a_second_apart_end_at_the_second(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The hook locks the work tree before it checks out, so each report is true and the
    server ends at the last push's revision, whatever order the hooks run in; with a shared
    backend, under the shared lock too (the hook's apply writes the state to origin)."""
    extra = (
        {"MLFORM_STATE_DSN": request.getfixturevalue("postgres")} if backend == "postgres" else {}
    )
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    dev, port = diabetes_project(tmp_path / "dev")
    if STATE[backend]:
        edit(
            dev / "mlform.yaml", "spec:\n  specs: [ml]\n", f"spec:\n  specs: [ml]\n{STATE[backend]}"
        )
        git("commit", "-qam", f"state in {backend}", cwd=dev)
    git("remote", "add", "origin", str(origin), cwd=dev)
    worktree = tmp_path / "serving"
    try:
        push(dev, extra)
        mlform(
            "hooks",
            "install",
            "--bare-repo",
            str(origin),
            "--worktree",
            str(worktree),
            cwd=tmp_path,
        )
        hook = (origin / "hooks" / "post-receive").read_text()
        assert '[ "$ref" = refs/heads/main ]' in hook and str(worktree) in hook
        assert ".mlform-reconcile.log" not in hook  # the log is outside the work tree
        git("commit", "-q", "--allow-empty", "-m", "trigger", cwd=dev)
        push(dev, extra)
        assert predict(port)["model_version"] == "v0.1.0"
        other = tmp_path / "other"
        subprocess.run(["git", "clone", "-q", str(origin), str(other)], check=True)
        edit(dev / "ml/diabetes.yaml", SPACE_A, SPACE_B)
        git("commit", "-qam", "first push", cwd=dev)
        first = subprocess.Popen(
            ["git", "push", "-q", "origin", "HEAD:main"],
            cwd=dev,
            env={**env(), **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(1)
        git("pull", "-q", "--ff-only", "origin", "main", cwd=other)
        edit(other / "ml/diabetes.yaml", SPACE_B, "alpha: [0.3, 3.0, 30.0]")
        git("commit", "-qam", "second push", cwd=other)
        second = push(other, extra)
        first_report = first.communicate(timeout=600)[0]
        heads = [
            git("rev-parse", "--short=8", "HEAD", cwd=repo).out.strip() for repo in (dev, other)
        ]
        assert f"remote: revision {heads[0]} applied" in first_report, first_report
        assert f"remote: revision {heads[1]} applied" in second, second
        assert git("rev-parse", "HEAD", cwd=worktree).out == git("rev-parse", "HEAD", cwd=other).out
        assert predict(port)["model_version"] == "v0.3.0"
        log = (origin / "mlform-reconcile.log").read_text()
        assert f"revision {heads[0]} applied" in log and f"revision {heads[1]} applied" in log
        if backend != "local":  # the shared state says so, read from another clone
            listed = mlform("state", "list", cwd=other, extra_env=extra).out
            assert heads[1] in listed, listed
    finally:
        stop_servers(worktree)
