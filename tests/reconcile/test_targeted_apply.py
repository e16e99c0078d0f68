"""A targeted apply for real, in a repository two teams share (git, DVC, the pipeline, the
registry, a local server): only the selection is applied and recorded, the applied revision
waits for an apply that covers the rest, and removed resources are destroyed only from
inside the selection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline_helpers import git
from tests.reconcile.helpers import diabetes_project, mlform, state, stop_servers

pytestmark = pytest.mark.slow

RISK = """\
apiVersion: mlform/v1
kind: Dataset
metadata: {name: risk, labels: {team: risk}}
spec:
  source: {path: data/diabetes.csv}
  target: target
  columns:
    age: {dtype: float}
    sex: {dtype: category, allowed: [f, m]}
    bmi: {dtype: float}
    bp: {dtype: float}
    tc: {dtype: float}
    ldl: {dtype: float}
    hdl: {dtype: float}
    tch: {dtype: float}
    ltg: {dtype: float}
    glu: {dtype: float}
    target: {dtype: float}
  split: {method: random, test_size: 0.2}
---
apiVersion: mlform/v1
kind: FeatureSet
metadata: {name: risk-features, labels: {team: risk}}
spec:
  dataset: risk
  transforms:
    - columns: [age, bmi, bp]
      steps: [{scale: {method: standard}}]
---
apiVersion: mlform/v1
kind: Training
metadata: {name: risk-ridge, labels: {team: risk}}
spec:
  features: risk-features
  estimator: {class: Ridge, params: {alpha: 1.0}}
  metrics: [rmse]
---
apiVersion: mlform/v1
kind: Model
metadata: {name: risk-progression, labels: {team: risk}}
spec:
  training: risk-ridge
  gates:
    metrics: {rmse: {max: 90}}
---
apiVersion: mlform/v1
kind: Deployment
metadata: {name: risk-triton, labels: {team: risk}}
spec:
  model: risk-progression
  target: triton
  output_dir: deploy/risk
"""
RISK_CHAIN = {
    "dataset.risk",
    "featureset.risk-features",
    "training.risk-ridge",
    "model.risk-progression",
    "deployment.risk-triton",
}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The diabetes example (team health: every document labelled) and team risk's model."""
    root, _ = diabetes_project(tmp_path_factory.mktemp("targeting") / "two-teams")
    spec = root / "ml" / "diabetes.yaml"
    spec.write_text(
        re.sub(
            r"metadata:\n  name: ",
            "metadata:\n  labels: {team: health}\n  name: ",
            spec.read_text(),
        )
    )
    (root / "ml" / "risk.yaml").write_text(RISK)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "two teams", cwd=root)
    yield root
    stop_servers(root)


def head(root: Path) -> str:
    return git("rev-parse", "HEAD", cwd=root).out.strip()


def applied_at(recorded: dict[str, Any]) -> dict[str, str]:
    return {a: r["applied_at"] for a, r in recorded["resources"].items()}


def test_a_team_applies_its_part_and_the_revision_waits(shared: Path) -> None:
    done = mlform("apply", "--auto-approve", "--selector", "team=risk", cwd=shared)
    assert "Plan: 7 to add, 0 to change, 0 to destroy." in done.out
    assert "\nWarning: Resource targeting is in effect\n" in done.out
    assert "model.risk-progression: created (v0.1.0)" in done.out
    assert done.out.rstrip().endswith(
        "Apply complete! Resources: 7 added, 0 changed, 0 destroyed.\n"
        "\n"
        "Warning: Applied changes may be incomplete: 10 changes outside the selection were not "
        "applied, and the environment's applied revision did not advance. Run `mlform plan` "
        "to see what is still pending."
    )
    recorded = state(shared)
    assert set(recorded["resources"]) == RISK_CHAIN | {'file["dvc.yaml"]', 'file["params.yaml"]'}
    assert recorded["applied_revision"] is None and recorded["attempted_revision"] is None
    assert (shared / "deploy/risk/risk-progression/1/model.onnx").is_file()
    assert not (shared / "deploy/triton").exists()  # team health's deployment: untouched
    status = mlform("status", cwd=shared).out
    assert status.startswith("Environment default: OutOfSync, Missing\n  applied revision:   -\n")
    assert re.search(r"deployment\.risk-triton +Synced +Healthy", status)
    assert re.search(r"model\.diabetes-progression +OutOfSync +Missing", status)
    again = mlform(
        "plan", "--selector", "team=risk", "--detailed-exitcode", cwd=shared, check=False
    )
    assert again.code == 0 and again.out.startswith("No changes in the selection.")


def test_a_saved_targeted_plan_applies_exactly_its_part(shared: Path, tmp_path: Path) -> None:
    before = applied_at(state(shared))
    saved = tmp_path / "plan.json"
    made = mlform("plan", "--target", "Deployment/diabetes-triton", "--out", str(saved), cwd=shared)
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in made.out
    shown = mlform("show", str(saved), cwd=shared).out
    assert "Warning: Resource targeting is in effect" in shown
    assert "as selected by --target Deployment/diabetes-triton." in shown
    done = mlform("apply", str(saved), cwd=shared)
    assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in done.out
    assert "Warning: Applied changes may be incomplete: 5 changes outside" in done.out
    recorded = state(shared)
    assert recorded["applied_revision"] is None
    assert "deployment.diabetes-triton" in recorded["resources"]
    assert "deployment.diabetes-local" not in recorded["resources"]
    assert {a: applied_at(recorded)[a] for a in before} == before  # team risk's: as they were
    assert (shared / "deploy/triton/diabetes-progression/1/model.onnx").is_file()


def test_a_full_apply_advances_the_revision(shared: Path) -> None:
    done = mlform("apply", "--auto-approve", cwd=shared)
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in done.out
    assert "Warning" not in done.out
    recorded = state(shared)
    assert recorded["applied_revision"] == recorded["attempted_revision"] == head(shared)
    assert mlform("status", cwd=shared).out.startswith("Environment default: Synced, Healthy")


def test_a_removed_resource_is_destroyed_only_from_inside_the_selection(shared: Path) -> None:
    risk = shared / "ml" / "risk.yaml"
    risk.write_text(RISK.split("---\napiVersion: mlform/v1\nkind: Deployment", maxsplit=1)[0])
    git("commit", "-qam", "team risk retires its deployment", cwd=shared)
    outside = mlform(
        "plan", "--selector", "team=health", "--detailed-exitcode", cwd=shared, check=False
    )
    assert outside.code == 0 and "deployment.risk-triton" not in outside.out.split("Warning:")[0]
    assert "1 change outside the selection is not planned (deployment.risk-triton)" in outside.out
    kept = mlform("apply", "--auto-approve", "--exclude", "model.risk-progression", cwd=shared)
    assert kept.out.rstrip().endswith(
        "Warning: Applied changes may be incomplete: 1 change outside the selection was not applied, and the environment's applied revision did not advance. Run `mlform plan` to see what is still pending."
    )
    assert "deployment.risk-triton" in state(shared)["resources"]  # a dependent of the excluded
    # its recorded labels select it; nothing else is pending, so the revision advances
    done = mlform("apply", "--auto-approve", "--selector", "team=risk", cwd=shared)
    assert "  # deployment.risk-triton will be destroyed (no longer declared)" in done.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in done.out
    assert "  Nothing outside the selection has changes" in done.out
    assert done.out.rstrip().endswith("Apply complete! Resources: 0 added, 0 changed, 1 destroyed.")
    recorded = state(shared)
    assert "deployment.risk-triton" not in recorded["resources"]
    assert recorded["applied_revision"] == head(shared)
    assert mlform("status", cwd=shared).out.startswith("Environment default: Synced, Healthy")
