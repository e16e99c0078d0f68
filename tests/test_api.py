"""The public Python API (`import mlform`): what a platform team's CI script or notebook
calls, and what the command line is a shell over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlform
from mlform.diagnostics import Severity
from mlform.spec import Deployment, Model
from tests.conftest import build_tree, copy_example
from tests.pipeline_helpers import dvc, git

DATASET_ONLY = {
    "mlform.yaml": (
        "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: tiny}\n"
        "spec: {specs: [ml], artifacts: artifacts}\n"
    ),
    "ml/iris.yaml": (
        "apiVersion: mlform/v1\nkind: Dataset\nmetadata: {name: iris}\nspec:\n"
        "  source: {path: data/iris.csv}\n  target: species\n  columns:\n"
        "    petal length (cm): {dtype: float, min: 0}\n"
        "    species: {dtype: category, allowed: [setosa, versicolor, virginica]}\n"
        "  split: {method: stratified, test_size: 0.25}\n"
    ),
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A project of one Dataset (scikit-learn's iris, its real column name with spaces) as
    a git + DVC repository."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame["species"] = [["setosa", "versicolor", "virginica"][t] for t in frame.pop("target")]
    root = build_tree(tmp_path / "tiny", DATASET_ONLY)
    (root / "data").mkdir()
    frame[["petal length (cm)", "species"]].to_csv(root / "data/iris.csv", index=False)
    git("init", "-q", cwd=root)
    dvc("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "specs", cwd=root)
    return root


def test_load_resolves_the_project(tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "credit")
    project = mlform.load(root / "ml")  # any path inside the project
    assert project.root == root.resolve()
    assert project.project.metadata.name == "credit-risk"
    assert "credit-risk-local" in [d.metadata.name for d in project.all(Deployment)]
    prod = mlform.load(root, env="prod")  # the prod overlay tightens the gate
    assert prod.get(Model, "credit-risk").spec.gates.metrics["roc_auc"].min == 0.72
    assert project.get(Model, "credit-risk").spec.gates.metrics["roc_auc"].min != 0.72


def test_load_raises_one_exception_with_every_diagnostic(tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "credit")
    training = root / "ml" / "training.yaml"
    training.write_text(training.read_text().replace("max_iter: 100", "max_itr: 100"))
    model = root / "ml" / "model.yaml"
    model.write_text(model.read_text().replace("training: credit-gbm", "training: credit-gmb"))
    with pytest.raises(mlform.SpecInvalid) as invalid:
        mlform.load(root)
    codes = sorted((Path(d.file).name, d.code) for d in invalid.value.diagnostics)
    assert codes == [("model.yaml", "E202"), ("training.yaml", "E104")]
    assert all(d.severity is Severity.ERROR for d in invalid.value.diagnostics)
    result = mlform.validate(root)  # validate reports instead of raising
    assert not result.valid and len(result.diagnostics.errors) == 2


def test_compile_writes_then_checks(tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "credit")
    (root / "dvc.yaml").unlink()
    stale = mlform.compile(root, check=True)
    assert "dvc.yaml" in stale.changed and not (root / "dvc.yaml").exists()
    written = mlform.compile(root)
    assert written.changed == ("dvc.yaml",)
    assert mlform.compile(root, check=True).changed == ()


def test_plan_status_apply_and_a_stale_saved_plan(tiny: Path) -> None:
    plan = mlform.plan(tiny)
    assert plan.counts() == (3, 0, 0)  # dvc.yaml, params.yaml, dataset.iris
    assert plan.to_json()["applyable"] is True
    before = mlform.status(tiny)
    assert (before.sync, before.health) == ("OutOfSync", "Missing")
    lines: list[str] = []
    done = mlform.apply(tiny, saved=plan, progress=lines.append)
    assert done.ok and done.plan.counts() == (3, 0, 0)
    assert "dataset.iris: created" in lines
    after = mlform.status(tiny)
    assert (after.sync, after.health) == ("Synced", "Healthy")
    assert after.to_json()["resources"][0] == {
        "address": 'file["dvc.yaml"]',
        "sync": "Synced",
        "health": "Healthy",
        "reason": "",
        "detail": "",
    }
    assert not mlform.plan(tiny).has_changes
    with pytest.raises(mlform.UserError, match="Saved plan is stale"):
        mlform.apply(tiny, saved=plan)  # the state moved on since it was made


def test_a_saved_plan_round_trips_through_a_file(tiny: Path, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(mlform.plan(tiny).to_json()))
    assert mlform.read_plan(saved).counts() == (3, 0, 0)
    saved.write_text("{not json")
    with pytest.raises(mlform.UserError, match="is not a plan saved by `mlform plan --out`"):
        mlform.read_plan(saved)


def test_what_is_protected_is_not_destroyed(tiny: Path) -> None:
    spec = tiny / "mlform.yaml"
    spec.write_text(
        spec.read_text().replace(
            "artifacts: artifacts}",
            "artifacts: artifacts, environments: {prod: {prevent_destroy: true}}}",
        )
    )
    assert mlform.apply(tiny, env="prod").ok
    with pytest.raises(mlform.UserError, match=r"dataset\.iris has prevent_destroy set"):
        mlform.destroy(tiny, env="prod")
    (tiny / "ml/iris.yaml").unlink()
    plan = mlform.plan(tiny, env="prod")
    (problem,) = plan.problems
    assert problem.format() == (
        ".mlform/state/prod.json: error E501: dataset.iris: dataset.iris has prevent_destroy "
        "set and would be destroyed (no longer declared); remove the protection from its spec "
        "or environment first"
    )
    assert plan.to_json()["applyable"] is False
