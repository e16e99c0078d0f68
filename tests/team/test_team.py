"""A team's GitOps, for real: a bare origin, a DVC remote in a folder, runner A, a fresh
runner B (nothing but a clone) and a laptop C, sharing state and locks through the git
backend (refs of origin) or the postgres backend (a real PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.pipeline_helpers import BIN, edit, git
from tests.team.conftest import SPEC, Team, make_team, state_settings

pytestmark = pytest.mark.slow
ALPHA_A = "space:\n      alpha: [0.01, 0.1, 1.0, 10.0]"
ALPHA_B = "space:\n      alpha: [0.5, 5.0, 50.0]"
ALPHA_C = "space:\n      alpha: [0.2, 2.0, 20.0]"
ALPHA_D = "space:\n      alpha: [0.3, 3.0, 30.0]"


@pytest.fixture(scope="module", params=["git", "postgres"])
def team(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Team]:
    extra = {}
    if request.param == "postgres":
        extra["MLFORM_STATE_DSN"] = request.getfixturevalue("postgres")
    yield make_team(tmp_path_factory.mktemp(f"team-{request.param}"), request.param, extra)


def clean(who: Path) -> bool:
    out = subprocess.run(
        ["git", "status", "--porcelain"], cwd=who, capture_output=True, text=True, check=False
    )
    return out.stdout == ""


def test_a_fresh_runner_finds_nothing_to_do(team: Team) -> None:
    applied = team.mlform(team.a, "apply", "--auto-approve", "--no-serve")
    assert "model.diabetes-progression: created (v0.1.0)" in applied.out
    assert clean(team.a), "an apply leaves the work tree as git has it"
    assert team.tags() == ["diabetes-progression@v0.1.0"]  # published on origin
    planned = team.mlform(team.b, "plan", "--detailed-exitcode")
    assert "No changes." in planned.out
    os.utime(team.a / "data/diabetes.csv")  # a new mtime, the same content: no change
    assert "No changes." in team.mlform(team.a, "plan", "--detailed-exitcode").out
    fresh = team.mlform(team.b, "apply", "--auto-approve", "--no-serve")
    assert fresh.out.strip() == "No changes. Nothing to apply."
    assert "dvc repro" not in fresh.out


def test_cluster_manifests_are_published_with_their_model_in_the_remote(team: Team) -> None:
    def show(path: str) -> str:
        return git("show", f"origin/mlform/deploy/default:{path}", cwd=team.c).out

    git("fetch", "-q", "origin", cwd=team.c)
    files = git("ls-tree", "-r", "--name-only", "origin/mlform/deploy/default", cwd=team.c).out
    assert files.split() == [
        "deploy/diabetes-kserve/inferenceservice.yaml",
        "deploy/triton/diabetes-progression/1/model.onnx",
        "deploy/triton/diabetes-progression/config.pbtxt",
    ]
    service = yaml.safe_load(show("deploy/diabetes-kserve/inferenceservice.yaml"))
    uri = service["spec"]["predictor"]["model"]["storageUri"]
    assert uri == f"{team.storage}/models/diabetes-progression/v0.1.0"
    onnx = (Path(uri) / "model.onnx").read_bytes()
    record = json.loads(
        team.mlform(team.c, "models", "show", "diabetes-progression@v0.1.0", "--json").out
    )
    assert hashlib.sha256(onnx).hexdigest() == record["record"]["sha256"]
    pulled = team.mlform(team.c, "models", "pull", "diabetes-progression@v0.1.0")
    assert "(sha256 checked)" in pulled.out
    stored = team.c / ".mlform/registry/diabetes-progression/v0.1.0/model.onnx"
    assert stored.read_bytes() == onnx


def test_a_registered_version_is_a_commit_that_reproduces_it(team: Team, tmp_path: Path) -> None:
    clone = tmp_path / "audit"
    subprocess.run(["git", "clone", "-q", str(team.origin), str(clone)], check=True)
    git("fetch", "-q", "--tags", "origin", cwd=clone)
    git("checkout", "-q", "diabetes-progression@v0.1.0", cwd=clone)
    dvc = [str(BIN / "dvc")]
    subprocess.run(
        [*dvc, "remote", "add", "-q", "-d", "--local", "s", str(team.storage)],
        cwd=clone,
        check=True,
    )
    subprocess.run([*dvc, "pull", "-q"], cwd=clone, check=True, capture_output=True)
    repro = subprocess.run([*dvc, "repro"], cwd=clone, check=True, capture_output=True, text=True)
    assert "Running stage" not in repro.stdout
    assert "Data and pipelines are up to date." in repro.stdout
    record = json.loads(
        team.mlform(team.b, "models", "show", "diabetes-progression@v0.1.0", "--json").out
    )
    onnx = (clone / "artifacts/models/diabetes-progression/model.onnx").read_bytes()
    assert hashlib.sha256(onnx).hexdigest() == record["record"]["sha256"]
    assert clean(clone)


def test_two_runners_at_once_register_one_version(team: Team) -> None:
    edit(team.a / SPEC, ALPHA_A, ALPHA_B)
    team.mlform(team.a, "compile")
    team.push(team.a, "other alphas")
    team.pull(team.b)
    runs = [
        team.popen(who, "apply", "--auto-approve", "--no-serve", "--lock-timeout", "5m")
        for who in (team.a, team.b)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    registered = [o for o in outputs if "model.diabetes-progression: updated (v0.2.0)" in o]
    idle = [o for o in outputs if "No changes. Nothing to apply." in o]
    assert (len(registered), len(idle)) == (1, 1), outputs
    assert team.tags() == ["diabetes-progression@v0.1.0", "diabetes-progression@v0.2.0"]
    for who in (team.a, team.b):
        assert "No changes." in team.mlform(who, "plan", "--detailed-exitcode").out


def test_a_laptop_plans_against_the_shared_state(team: Team) -> None:
    team.pull(team.c)
    edit(team.c / SPEC, "params: {alpha: 1.0}", "params: {alpha: 3.0}")
    plan = json.loads(team.mlform(team.c, "plan", "--format", "json").out)
    changed = {
        c["address"]: c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]
    }
    assert plan["prior_state"]["serial"] > 0  # production's state, not an empty one
    training = changed["training.diabetes-ridge"]
    assert [f["path"] for f in training["change"]["fields"]] == ["spec.estimator.params.alpha"]
    assert (
        changed["model.diabetes-progression"]["action_reason"] == "update_because_upstream_changed"
    )
    assert "dataset.diabetes" not in changed and "featureset.diabetes-features" not in changed
    git("checkout", "-q", "--", SPEC, cwd=team.c)


def test_a_runner_killed_mid_apply_is_taken_over(team: Team) -> None:
    edit(team.a / SPEC, ALPHA_B, ALPHA_C)
    team.mlform(team.a, "compile")
    team.push(team.a, "alphas again")
    team.pull(team.b)
    killed = team.popen(team.a, "apply", "--auto-approve", "--no-serve", MLFORM_CRASH_AT="7")
    killed.communicate(timeout=600)
    assert killed.returncode == -9
    started = time.monotonic()
    taken = team.mlform(team.b, "apply", "--auto-approve", "--no-serve", "--lock-timeout", "2m")
    assert "Apply complete!" in taken.out, taken.out
    assert time.monotonic() - started < 90
    assert "diabetes-progression@v0.3.0" in team.tags()
    for who in (team.a, team.b):
        assert "No changes." in team.mlform(who, "plan", "--detailed-exitcode").out


def test_a_fresh_runner_computes_only_what_changed(team: Team, tmp_path: Path) -> None:
    """A runner that has nothing but a clone applies a training change: the dataset's
    stages come from the run-cache other runners pushed, only the training's downstream runs."""
    runner = tmp_path / "runner-d"
    git("clone", "-q", str(team.origin), str(runner), cwd=tmp_path)
    edit(runner / SPEC, ALPHA_C, ALPHA_D)
    team.mlform(runner, "compile")
    team.push(runner, "alphas once more")
    applied = team.mlform(runner, "apply", "--auto-approve", "--no-serve")
    assert "model.diabetes-progression: updated (v0.4.0)" in applied.out, applied.out
    reproduced = next(line for line in applied.out.splitlines() if ": ran " in line)
    ran, _, restored = reproduced.partition("; restored ")
    assert "train-diabetes-ridge" in ran and "check-diabetes" not in ran, reproduced
    assert "check-diabetes" in restored and "split-diabetes" in restored, reproduced
    assert clean(runner)


def test_a_runner_with_a_state_of_its_own_restores_every_stage(team: Team, tmp_path: Path) -> None:
    """Its own (empty) state plans everything, and every stage comes from the run-cache,
    those with `cache: false` outputs (checks, metrics, plots) too: none runs again."""
    runner = tmp_path / "runner-e"
    git("clone", "-q", str(team.origin), str(runner), cwd=tmp_path)
    project = runner / "mlform.yaml"
    text = project.read_text()
    own = text.replace(state_settings(team.backend), "  state:\n    backend: local\n")
    assert own != text
    project.write_text(own.replace("  remote: {url:", "  remote: {sync: always, url:"))
    applied = team.mlform(runner, "apply", "--auto-approve", "--no-serve")
    assert "Apply complete!" in applied.out, applied.out
    assert " ran " not in applied.out, applied.out
    assert "restored" in applied.out and "train-diabetes-ridge" in applied.out
