"""apply for real: from nothing to serving, idempotency, drift repair, locking, failures that
leave the previous version serving, and destroy."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline_helpers import BIN, edit, env, git
from tests.reconcile.helpers import diabetes_project, mlform, predict, state, stop_servers

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    root, port = diabetes_project(tmp_path_factory.mktemp("apply") / "diabetes")
    yield root, port
    stop_servers(root)


def test_from_nothing_to_serving(project: tuple[Path, int]) -> None:
    root, port = project
    done = mlform("apply", "--auto-approve", cwd=root)
    assert "Plan: 12 to add, 0 to change, 0 to destroy." in done.out
    assert "model.diabetes-progression: created (v0.1.0)" in done.out
    assert (
        f"deployment.diabetes-local: serving v0.1.0 (100%) at http://127.0.0.1:{port}" in done.out
    )
    assert done.out.rstrip().endswith(
        "Apply complete! Resources: 12 added, 0 changed, 0 destroyed."
    )
    assert predict(port)["model_version"] == "v0.1.0"
    assert (root / "deploy/triton/diabetes-progression/1/model.onnx").is_file()
    recorded = state(root)
    assert recorded["serial"] > 0 and recorded["applied_revision"] == recorded["attempted_revision"]
    assert recorded["resources"]["model.diabetes-progression"]["outputs"]["version"] == "v0.1.0"
    assert subprocess.run(
        ["git", "tag"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split() == ["diabetes-progression@v0.1.0"]


def test_a_second_apply_changes_nothing(project: tuple[Path, int]) -> None:
    root, _ = project
    plan = mlform("plan", "--detailed-exitcode", cwd=root)
    assert (
        plan.code == 0
        and plan.out.strip() == "No changes. Your specs and the world match the recorded state."
    )
    before = state(root)["serial"]
    assert (
        mlform("apply", "--auto-approve", cwd=root)
        .out.strip()
        .endswith("No changes. Nothing to apply.")
    )
    assert state(root)["serial"] == before + 1  # only the revisions are recorded again


def test_hand_edits_and_a_stopped_server_are_drift_and_repaired(project: tuple[Path, int]) -> None:
    root, port = project
    (root / "dvc.yaml").write_text((root / "dvc.yaml").read_text() + "# a hand edit\n")
    mlform("server", "stop", "diabetes-local", cwd=root)
    plan = mlform("plan", "--detailed-exitcode", cwd=root, check=False)
    assert plan.code == 2
    assert '  # file["dvc.yaml"]: the file was edited' in plan.out
    assert "  # deployment.diabetes-local: the local server is not running" in plan.out
    mlform("apply", "--auto-approve", cwd=root)
    assert "# a hand edit" not in (root / "dvc.yaml").read_text()
    assert predict(port)["model_version"] == "v0.1.0"
    status = mlform("status", cwd=root).out
    assert status.startswith("Environment default: Synced, Healthy")


def test_two_applies_at_once_exactly_one_proceeds(project: tuple[Path, int]) -> None:
    root, port = project
    edit(root / "ml/diabetes.yaml", "params: {alpha: 1.0}", "params: {alpha: 2.0}")
    edit(
        root / "ml/diabetes.yaml",
        "    space:\n      alpha: [0.01, 0.1, 1.0, 10.0]",
        "    space:\n      alpha: [0.05, 0.5, 5.0]",
    )
    git("commit", "-qam", "other alphas", cwd=root)
    first = subprocess.Popen(
        [str(BIN / "mlform"), "apply", "--auto-approve"],
        cwd=root,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lock = root / ".mlform/state/default.lock"
    deadline = time.monotonic() + 30
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = mlform("apply", "--auto-approve", cwd=root, check=False)
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out
    assert second.code == 1
    assert (
        "Error: the 'default' environment is locked by " in second.out
        and "(apply, since " in second.out
    )
    assert predict(port)["model_version"] == "v0.2.0"


def test_a_failed_gate_keeps_the_previous_version_serving(project: tuple[Path, int]) -> None:
    root, port = project
    edit(
        root / "ml/diabetes.yaml", "alpha: [0.05, 0.5, 5.0]", "alpha: [0.07, 0.7, 7.0]"
    )  # a new model
    edit(root / "ml/diabetes.yaml", "r2: {min: 0.3}", "r2: {min: 0.99}")
    done = mlform("apply", "--auto-approve", cwd=root, check=False)
    assert done.code == 1
    assert "Apply failed: 1 failed, 2 not applied because of them" in done.out
    assert "  ✗ model.diabetes-progression: " in done.out and "error E308" in done.out
    assert (
        "  - deployment.diabetes-local: not applied: model.diabetes-progression failed" in done.out
    )
    assert "What was serving before keeps serving." in done.out
    assert predict(port)["model_version"] == "v0.2.0"
    status = mlform("status", cwd=root).out
    assert status.startswith("Environment default: OutOfSync, Degraded")
    assert "last failure:" in status
    edit(root / "ml/diabetes.yaml", "r2: {min: 0.99}", "r2: {min: 0.3}")
    mlform("apply", "--auto-approve", cwd=root)
    assert predict(port)["model_version"] == "v0.3.0"
    # the Triton repository holds the deployed version only
    assert sorted(p.name for p in (root / "deploy/triton/diabetes-progression").iterdir()) == [
        "3",
        "config.pbtxt",
    ]


def test_destroy_respects_protection_then_tears_down(project: tuple[Path, int]) -> None:
    root, port = project
    edit(root / "ml/diabetes.yaml", "  local: {port:", "  prevent_destroy: true\n  local: {port:")
    mlform("apply", "--auto-approve", cwd=root)
    refused = mlform("destroy", "--auto-approve", cwd=root, check=False)
    assert refused.code == 1
    assert "deployment.diabetes-local has prevent_destroy set and would be destroyed" in refused.out
    assert predict(port)["model_version"] == "v0.3.0"
    edit(root / "ml/diabetes.yaml", "  prevent_destroy: true\n", "")
    mlform("apply", "--auto-approve", cwd=root)
    done = mlform("destroy", "--auto-approve", cwd=root)
    assert "Apply complete! Resources: 0 added, 0 changed, 12 destroyed." in done.out
    assert state(root)["resources"] == {}
    assert not (root / "deploy").exists()
    with pytest.raises(OSError):
        predict(port)
