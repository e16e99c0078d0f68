"""Environments do not collide: one whose overlays patch the pipeline has a pipeline of its
own (pipelines/<env>/, <artifacts>/<env>/), its own state, and applying it leaves the
default environment and the committed files as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline_helpers import git
from tests.reconcile.helpers import diabetes_project, mlform, predict, stop_servers

pytestmark = pytest.mark.slow
STRICT = """apiVersion: mlform/v1
kind: Model
metadata:
  name: diabetes-progression
spec:
  gates:
    metrics:
      r2: {min: 0.35}
---
apiVersion: mlform/v1
kind: Deployment
metadata:
  name: diabetes-local
spec:
  target: triton
  output_dir: deploy/strict-triton
"""


def test_an_environment_with_its_own_pipeline_leaves_the_default_alone(tmp_path: Path) -> None:
    root, port = diabetes_project(tmp_path / "envs")
    (root / "environments").mkdir()
    (root / "environments/strict.yaml").write_text(STRICT)
    project = root / "mlform.yaml"
    project.write_text(
        project.read_text().replace(
            "spec:\n  specs: [ml]\n",
            "spec:\n  specs: [ml]\n  environments:\n    strict: {overlays: [environments/strict.yaml]}\n",
        )
    )
    compiled = mlform("compile", cwd=root)
    assert "  pipelines/strict/dvc.yaml (written)" in compiled.out
    git("add", "-A", cwd=root)
    git("commit", "-qm", "a strict environment", cwd=root)
    try:
        mlform("apply", "--auto-approve", cwd=root)
        assert predict(port)["model_version"] == "v0.1.0"
        strict = mlform("apply", "--env", "strict", "--auto-approve", cwd=root)
        assert "Apply complete!" in strict.out
        assert (root / "artifacts/strict/models/diabetes-progression/review.json").is_file()
        status = git("status", "--porcelain", cwd=root).out
        assert status == "", status  # nothing committed changed, nothing new to commit
        assert "No changes." in mlform("plan", "--detailed-exitcode", cwd=root).out
        assert (
            "No changes." in mlform("plan", "--env", "strict", "--detailed-exitcode", cwd=root).out
        )
        assert "Rendered files are up to date" in mlform("compile", "--check", cwd=root).out
        listed = mlform("state", "list", cwd=root).out.splitlines()
        assert [line.split()[0] for line in listed[1:]] == ["default", "strict"]
    finally:
        stop_servers(root)
