"""The compiled pipeline runs for real: `dvc repro` on each example, reproducibility, the
artifacts a reviewer reads, and located failures for bad data and bad configurations."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_helpers import BIN, clone_repo, dvc, edit, env, git, mlform, new_repo

pytestmark = pytest.mark.slow
STAGES = [
    "clean-credit",
    "check-credit",
    "profile-credit",
    "split-credit",
    "train-credit-gbm",
    "evaluate-credit-gbm",
    "export-credit-risk",
    "review-credit-risk",
]


@pytest.fixture(scope="module")
def credit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """credit-risk after one full `dvc repro`, with the result committed."""
    root = new_repo("credit-risk", tmp_path_factory.mktemp("base") / "credit-risk")
    done = dvc("repro", cwd=root)
    assert done.ran == STAGES
    git("add", "-A", cwd=root)
    git("commit", "-qm", "pipeline run", cwd=root)
    return root


@pytest.fixture
def credit_copy(credit_run: Path, tmp_path: Path) -> Path:
    return clone_repo(credit_run, tmp_path / "credit-risk")


def artifact(root: Path, path: str) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "artifacts" / path).read_text())


def test_every_stage_writes_what_a_reviewer_reads(credit_run: Path) -> None:
    cleaning = artifact(credit_run, "datasets/credit/cleaning.json")
    assert (cleaning["rows_before"], cleaning["rows_after"], cleaning["clipped"]) == (5012, 5000, 1)
    checks = artifact(credit_run, "datasets/credit/checks.json")
    assert checks["passed"] is True and checks["rows"] == 5000 and checks["checks_failed"] == 0
    profile = artifact(credit_run, "datasets/credit/profile.json")
    income = profile["columns"]["income"]
    assert (
        income["kind"] == "numeric"
        and len(income["sketch"]) == 1001
        and len(income["histogram"]["counts"]) == 20
    )
    assert profile["columns"]["purpose"]["frequencies"]["car"] > 0
    assert -1 <= profile["columns"]["loan_amount"]["target_correlation"] <= 1
    html = (credit_run / "artifacts/datasets/credit/profile.html").read_text()
    assert html.count("<svg") >= 10 and "<script" not in html
    train = pd.read_parquet(credit_run / "artifacts/datasets/credit/train.parquet")
    test = pd.read_parquet(credit_run / "artifacts/datasets/credit/test.parquet")
    assert (len(train), len(test)) == (3750, 1250)
    assert abs(train["default"].mean() - test["default"].mean()) < 0.01  # stratified
    tuning = artifact(credit_run, "trainings/credit-gbm/tuning.json")
    assert (
        tuning["strategy"] == "random"
        and tuning["candidates"] == 6
        and tuning["scoring"] == "roc_auc"
    )
    metrics = artifact(credit_run, "trainings/credit-gbm/metrics.json")
    assert set(metrics) == {"roc_auc", "accuracy", "precision", "recall", "f1", "log_loss"}
    assert 0.7 < metrics["roc_auc"] < 0.9
    roc = artifact(credit_run, "trainings/credit-gbm/plots/roc.json")
    assert roc[0] == {"fpr": 0.0, "tpr": 0.0} and roc[-1] == {"fpr": 1.0, "tpr": 1.0}
    assert {"actual", "predicted"} == set(
        artifact(credit_run, "trainings/credit-gbm/plots/confusion.json")[0]
    )
    parity = artifact(credit_run, "models/credit-risk/parity.json")
    assert parity["passed"] and parity["label_agreement"] == 1.0 and parity["max_abs_diff"] < 1e-4
    review = artifact(credit_run, "models/credit-risk/review.json")
    assert review["passed"] is True
    assert [g["gate"] for g in review["gates"]] == [
        "metrics.roc_auc",
        "metrics.log_loss",
        "no_regression",
        "fairness",
        "interpretability",
        "security",
    ]
    card = (credit_run / "artifacts/models/credit-risk/model_card.md").read_text()
    for heading in (
        "## Metrics (test split)",
        "## Review gates",
        "## Fairness by group",
        "## What the model relies on",
        "## Limitations",
    ):
        assert heading in card


def test_the_onnx_model_carries_its_signature_and_provenance(credit_run: Path) -> None:
    import onnx
    import onnxruntime as ort

    path = credit_run / "artifacts/models/credit-risk/model.onnx"
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["mlform.model"] == "credit-risk"
    assert meta["mlform.mlform_version"] == "0.1.0"
    assert len(meta["mlform.spec_hash"]) == 64 and len(meta["mlform.training_data_hash"]) == 64
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {i.name: i.type for i in session.get_inputs()}
    assert inputs == {
        "age": "tensor(double)",
        "income": "tensor(double)",
        "employment_years": "tensor(double)",
        "housing": "tensor(string)",
        "purpose": "tensor(string)",
        "credit_history": "tensor(string)",
        "loan_amount": "tensor(double)",
        "loan_term_months": "tensor(double)",
    }
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    row = {
        "age": [[35.0]],
        "income": [[40000.0]],
        "employment_years": [[float("nan")]],
        "housing": [["rent"]],
        "purpose": [["car"]],
        "credit_history": [["poor"]],
        "loan_amount": [[9000.0]],
        "loan_term_months": [[36.0]],
    }
    feeds = {
        k: np.array(v, dtype=object if isinstance(v[0][0], str) else np.float64)
        for k, v in row.items()
    }
    label, probabilities = session.run(None, feeds)
    assert label.shape == (1,) and probabilities.shape == (1, 2)
    assert abs(probabilities.sum() - 1) < 1e-6


def test_a_second_repro_runs_nothing(credit_run: Path) -> None:
    done = dvc("repro", cwd=credit_run)
    assert done.ran == []
    assert "Data and pipelines are up to date." in dvc("status", "dvc.yaml", cwd=credit_run).out


def test_a_hyperparameter_change_retrains_but_keeps_the_data_stages(credit_copy: Path) -> None:
    edit(credit_copy / "ml/training.yaml", "max_iter: 100", "max_iter: 60")
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy)
    assert done.ran == [
        "train-credit-gbm",
        "evaluate-credit-gbm",
        "export-credit-risk",
        "review-credit-risk",
    ]
    assert "metrics.json" in mlform("metrics", "diff", "HEAD", cwd=credit_copy).out
    diff = json.loads(mlform("metrics", "diff", "HEAD", "--format", "json", cwd=credit_copy).out)
    roc = next(d for d in diff if d["metric"] == "roc_auc")
    assert roc["path"] == "artifacts/trainings/credit-gbm/metrics.json"
    assert all(isinstance(roc[k], float) for k in ("old", "new", "change")), roc
    assert roc["change"] == pytest.approx(roc["new"] - roc["old"])


def test_metadata_only_changes_run_nothing(credit_copy: Path) -> None:
    edit(
        credit_copy / "ml/training.yaml",
        "description: Gradient-boosted trees, tuned by random search.",
        "description: GBM.",
    )
    mlform("compile", cwd=credit_copy)
    assert dvc("repro", cwd=credit_copy).ran == []


def test_dvc_plots_render(credit_run: Path, tmp_path: Path) -> None:
    dvc("plots", "show", "-o", str(tmp_path / "plots"), cwd=credit_run)
    page = (tmp_path / "plots" / "index.html").read_text()
    for plot in ("roc_json", "precision_recall_json", "confusion_json", "calibration_json"):
        assert f"artifacts_trainings_credit-gbm_plots_{plot}" in page


def test_registry_round_trip(credit_copy: Path) -> None:
    done = mlform("models", "register", "credit-risk", cwd=credit_copy)
    assert done.out.startswith("Registered credit-risk@v0.1.0 at ")
    tag = subprocess.run(
        ["git", "cat-file", "-t", "credit-risk@v0.1.0"],
        cwd=credit_copy,
        capture_output=True,
        text=True,
        check=True,
    )
    assert tag.stdout.strip() == "tag"  # annotated, as GTO requires
    again = mlform("models", "register", "credit-risk", cwd=credit_copy, check=False)
    assert again.code == 1 and "credit-risk@v0.1.0 is this exact model (sha256" in again.out
    assert mlform("models", "promote", "credit-risk@v0.1.0", "production", cwd=credit_copy).out == (
        "Created credit-risk#production#1: credit-risk@v0.1.0 is now in 'production'.\n"
    )
    listed = mlform("models", "list", cwd=credit_copy).out.splitlines()
    assert listed[1].split() == ["credit-risk", "v0.1.0", "1", "production:", "v0.1.0"]
    shown = json.loads(
        mlform("models", "show", "credit-risk@v0.1.0", "--json", cwd=credit_copy).out
    )
    assert shown["stages"] == ["production"]
    assert (
        shown["record"]["sha256"]
        == artifact(credit_copy, "models/credit-risk/review.json")["sha256"]
    )
    assert shown["record"]["metrics"]["roc_auc"] > 0.7
    gto = subprocess.run(
        [str(BIN / "gto"), "show", "credit-risk#production", "--ref"],
        cwd=credit_copy,
        capture_output=True,
        text=True,
        env=env(),
        check=False,
    )
    assert gto.stdout.strip() == "credit-risk@v0.1.0", gto.stdout + gto.stderr
    for args, message in [
        (
            ("models", "promote", "credit-risk@v0.1.0", "prod"),
            "'prod' is not a stage of Model 'credit-risk' (registry.stages: staging, production) — did you mean 'production'?",
        ),
        (
            ("models", "promote", "credit-risk@v9.9.9", "staging"),
            "Model 'credit-risk' has no version v9.9.9; latest: v0.1.0",
        ),
        (
            ("models", "show", "credit-rsk"),
            "Model 'credit-rsk' is not declared in the specs — did you mean 'credit-risk'?",
        ),
        (
            ("models", "promote", "credit-risk@v0.1.0", "production"),
            "credit-risk@v0.1.0 is already in stage 'production'",
        ),
    ]:
        failed = mlform(*args, cwd=credit_copy, check=False)
        assert failed.code == 1 and f"Error: {message}" in failed.out, failed.out


def test_no_regression_gate_compares_with_production(credit_copy: Path) -> None:
    mlform("models", "register", "credit-risk", cwd=credit_copy)
    mlform("models", "promote", "credit-risk@v0.1.0", "production", cwd=credit_copy)
    edit(credit_copy / "ml/training.yaml", "strategy: random", "strategy: grid")
    edit(
        credit_copy / "ml/training.yaml",
        "      l2_regularization: {low: 0.0001, high: 1.0, log: true}\n",
        "",
    )
    edit(credit_copy / "ml/training.yaml", "max_iter: 100", "max_iter: 3")
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.code != 0
    assert (
        "error E308: Model 'credit-risk': spec.gates.no_regression: gate no_regression failed: roc_auc"
        in done.out
    )
    assert "for v0.1.0 in 'production'" in done.out
    review = artifact(credit_copy, "models/credit-risk/review.json")
    assert review["passed"] is False
    git("add", "-A", cwd=credit_copy)
    git("commit", "-qm", "worse model", cwd=credit_copy)
    refused = mlform("models", "register", "credit-risk", cwd=credit_copy, check=False)
    assert (
        refused.code == 1 and "not up to date" in refused.out
    ) or "did not pass review" in refused.out


def test_experiments(credit_copy: Path) -> None:
    assert (
        mlform(
            "experiments",
            "run",
            "--set",
            "training.credit-gbm.max_iter=40",
            "--name",
            "short",
            cwd=credit_copy,
        ).code
        == 0
    )
    table = mlform("experiments", "show", cwd=credit_copy).out.splitlines()
    assert table[0].split()[:3] == ["experiment", "rev", "training.credit-gbm.max_iter"]
    assert any(line.split()[:1] == ["short"] and "40" in line.split() for line in table)
    assert mlform("compile", "--check", cwd=credit_copy).code == 0  # the workspace stays clean
    bad = mlform(
        "experiments",
        "run",
        "--set",
        "training.credit-gbm.max_iterr=40",
        cwd=credit_copy,
        check=False,
    )
    assert (
        bad.code == 1
        and "unknown parameter 'max_iterr' for HistGradientBoostingClassifier — did you mean 'max_iter'?"
        in bad.out
    )


def test_experiments_show_keeps_every_trainings_metrics(credit_copy: Path) -> None:
    """Three Trainings write metrics of the same names: each shows under its own name, in
    the table and in JSON (numbers as numbers, names exact)."""
    training = credit_copy / "ml/training.yaml"
    base = training.read_text().replace("budget: {n_iter: 6}", "budget: {n_iter: 2}")
    extra = [
        base.replace("name: credit-gbm", f"name: {name}").replace("max_iter: 100", f"max_iter: {n}")
        for name, n in (("credit-small", 20), ("credit-mid", 50))
    ]
    training.write_text("---\n".join([base, *extra]))
    mlform("compile", cwd=credit_copy)
    dvc("repro", cwd=credit_copy)
    git("add", "-A", cwd=credit_copy)
    git("commit", "-qm", "three trainings", cwd=credit_copy)
    mlform(
        "experiments",
        "run",
        "--set",
        "training.credit-mid.max_iter=30",
        "--name",
        "mid-30",
        cwd=credit_copy,
    )
    names = ("credit-gbm", "credit-mid", "credit-small")
    metrics = ("accuracy", "f1", "log_loss", "precision", "recall", "roc_auc")
    shown = json.loads(mlform("experiments", "show", "--format", "json", cwd=credit_copy).out)
    assert [r["experiment"] for r in shown][:1] == ["workspace"]
    experiment = next(r for r in shown if r["experiment"] == "mid-30")
    assert (
        experiment["parent"] == git("rev-parse", "--short=7", "HEAD", cwd=credit_copy).out.strip()
    )
    assert experiment["params"]["training.credit-mid.max_iter"] == 30
    for record in shown:
        assert sorted(record["metrics"]) == [f"{n}:{m}" for n in names for m in metrics]
        assert all(isinstance(v, float) for v in record["metrics"].values()), record
    head = next(r for r in shown if r["experiment"] not in ("workspace", "mid-30"))
    for name in names:
        written = artifact(credit_copy, f"trainings/{name}/metrics.json")
        assert head["metrics"][f"{name}:roc_auc"] == written["roc_auc"]
    assert head["metrics"]["credit-mid:roc_auc"] != experiment["metrics"]["credit-mid:roc_auc"]
    table = mlform("experiments", "show", cwd=credit_copy).out.splitlines()
    header = table[0].split()
    assert header[:3] == ["experiment", "rev", "training.credit-mid.max_iter"]
    assert header[3:] == [f"{n}:{m}" for n in names for m in metrics]
    row = next(line.split() for line in table if line.startswith("  mid-30 "))
    assert len(row) == len(header) and row[2] == "30"


def test_diabetes_regression_runs_end_to_end(tmp_path: Path) -> None:
    root = new_repo("diabetes-regression", tmp_path / "diabetes")
    assert len(dvc("repro", cwd=root).ran) == 8
    metrics = artifact(root, "trainings/diabetes-ridge/metrics.json")
    assert set(metrics) == {"rmse", "mae", "r2"} and metrics["r2"] > 0.3
    assert len(artifact(root, "trainings/diabetes-ridge/plots/residuals.json")) == 89
    assert artifact(root, "models/diabetes-progression/review.json")["passed"] is True


# --- bad data and bad configurations: located messages, non-zero exits, nothing registered --
def test_cleaning_counts_are_dvc_metrics(credit_run: Path) -> None:
    path = "artifacts/datasets/credit/cleaning.json"
    shown = json.loads(dvc("metrics", "show", "--json", path, cwd=credit_run).out)
    counts = shown[""]["data"][path]["data"]
    assert counts["removed"] == 12 and counts["rules"] == {
        "1-outside_schema": {"removed": 0, "clipped": 1},
        "2-drop_duplicates": {"removed": 4},
        "3-drop_missing_target": {"removed": 2},
        "4-outside_schema": {"removed": 4, "clipped": 0},
        "5-drop_where": {"removed": 2},
    }


def test_cleaning_that_removes_too_much_stops_the_pipeline(credit_copy: Path) -> None:
    edit(
        credit_copy / "ml/dataset.yaml", "max_removed_fraction: 0.01", "max_removed_fraction: 0.002"
    )
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.code != 0 and done.ran == ["clean-credit"]
    assert (
        "ml/dataset.yaml:34:27: error E302: Dataset 'credit': spec.cleaning.max_removed_fraction: "
        "cleaning would remove 12 of 5,012 rows (0.24%), over max_removed_fraction 0.20% "
        "(rule 2 drop_duplicates 4, rule 3 drop_missing_target 2, rule 4 outside_schema 4, "
        "rule 5 drop_where 2); the cleaned data is not written: fix the data or the rules, "
        "or raise the bound"
    ) in done.out.splitlines()
    assert "Stage clean credit failed; nothing downstream runs." in done.out
    assert not (credit_copy / "artifacts/datasets/credit/cleaned.parquet").exists()


def test_data_that_violates_the_schema_stops_the_pipeline(credit_copy: Path) -> None:
    # without the rule that drops rows outside the schema, the checks catch them, and
    # name the source's rows although they read the cleaned data
    edit(credit_copy / "ml/dataset.yaml", "      - outside_schema: {action: drop}\n", "")
    mlform("compile", cwd=credit_copy)
    data = credit_copy / "data/credit.csv"
    lines = data.read_text().splitlines()[:5001]  # the generator's clean rows
    lines[3] = lines[3].replace(",car,", ",yacht,")
    row = lines[10].split(",")
    row[2] = "7"  # age
    lines[10] = ",".join(row)
    data.write_text("\n".join(lines) + "\n")
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.code != 0 and done.ran == ["clean-credit", "check-credit"]
    assert [line for line in done.out.splitlines() if " error " in line] == [
        "ml/dataset.yaml:15:28: error E301: Dataset 'credit': spec.columns.age.min: 1 value below min 18 (row 11)",
        "ml/dataset.yaml:20:41: error E301: Dataset 'credit': spec.columns.purpose.allowed: 1 value not among the allowed values [car, education, home, business, personal] (row 4)",
    ]
    report = artifact(credit_copy, "datasets/credit/checks.json")
    failed = [c for c in report["checks"] if not c["passed"]]
    assert [c["check"] for c in failed] == [
        "column 'age' ≥ 18",
        "column 'purpose' takes allowed values",
    ]
    assert failed[0]["examples"] == [{"row": 11, "value": "7"}]


def test_a_missing_target_column(credit_copy: Path) -> None:
    frame = pd.read_csv(credit_copy / "data/credit.csv").drop(columns=["default"])
    frame.to_csv(credit_copy / "data/credit.csv", index=False)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert (
        "error E301: Dataset 'credit': spec.columns.default: column 'default' is not in the data"
        in done.out
    )


def test_a_single_class_target(credit_copy: Path) -> None:
    frame = pd.read_csv(credit_copy / "data/credit.csv", dtype=str, keep_default_na=False)
    frame["default"] = "0"
    frame.to_csv(credit_copy / "data/credit.csv", index=False)
    edit(credit_copy / "ml/dataset.yaml", "method: stratified", "method: random")
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.ran[-1] == "train-credit-gbm"
    assert (
        "error E303: Dataset 'credit': spec.target: target 'default' has a single class (0) in the training split"
        in done.out
    )


def test_a_tuning_space_the_estimator_rejects(credit_copy: Path) -> None:
    edit(
        credit_copy / "ml/training.yaml", "learning_rate: [0.05, 0.1, 0.2]", "learning_rate: [-1.0]"
    )
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.ran == ["train-credit-gbm"]
    assert (
        "error E304: Training 'credit-gbm': spec.tuning.space.learning_rate: HistGradientBoostingClassifier rejected the configuration: The 'learning_rate' parameter"
        in done.out
    )


def test_a_model_that_does_not_converge(credit_copy: Path) -> None:
    training = credit_copy / "ml/training.yaml"
    training.write_text(
        training.read_text().split("  estimator:")[0]
        + "  estimator:\n    class: LogisticRegression\n    params: {max_iter: 1}\n  metrics: [roc_auc]\n"
    )
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert (
        "error E305: Training 'credit-gbm': spec.estimator.params.max_iter: the model did not converge"
        in done.out
    )


def test_an_onnx_conversion_that_is_not_supported(credit_copy: Path) -> None:
    training = credit_copy / "ml/training.yaml"
    training.write_text(
        training.read_text().split("  estimator:")[0]
        + "  estimator:\n    class: KNeighborsClassifier\n    params: {metric: chebyshev}\n  metrics: [roc_auc]\n"
    )
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.ran[-1] == "export-credit-risk"
    assert (
        "error E306: Training 'credit-gbm': spec.estimator.class: cannot convert this pipeline to ONNX (opset 17): metric='chebyshev' is not implemented."
        in done.out
    )
    assert not (credit_copy / "artifacts/models/credit-risk/model.onnx").exists()


def test_parity_out_of_tolerance(credit_copy: Path) -> None:
    edit(
        credit_copy / "ml/model.yaml",
        "parity: {max_abs_diff: 0.0001, min_label_agreement: 0.999}",
        "parity: {max_abs_diff: 0.0}",
    )
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.ran == ["export-credit-risk"]
    assert (
        "error E307: Model 'credit-risk': spec.export.parity.max_abs_diff: ONNX and scikit-learn differ by up to"
        in done.out
    )


def test_a_failed_gate_registers_nothing(credit_copy: Path) -> None:
    edit(credit_copy / "ml/model.yaml", "roc_auc: {min: 0.70}", "roc_auc: {min: 0.99}")
    mlform("compile", cwd=credit_copy)
    done = dvc("repro", cwd=credit_copy, check=False)
    assert done.ran == ["review-credit-risk"]
    assert (
        "error E308: Model 'credit-risk': spec.gates.metrics.roc_auc: gate metrics.roc_auc failed: roc_auc 0."
        in done.out
    )
    git("add", "-A", cwd=credit_copy)
    git("commit", "-qm", "strict gate", cwd=credit_copy)
    refused = mlform("models", "register", "credit-risk", cwd=credit_copy, check=False)
    assert refused.code == 1
    assert (
        subprocess.run(
            ["git", "tag"], cwd=credit_copy, capture_output=True, text=True, check=True
        ).stdout
        == ""
    )


def test_a_stage_killed_midway_leaves_nothing_that_looks_complete(credit_copy: Path) -> None:
    edit(credit_copy / "ml/training.yaml", "budget: {n_iter: 6}", "budget: {n_iter: 12}")
    mlform("compile", cwd=credit_copy)
    pipeline = credit_copy / "artifacts/trainings/credit-gbm/pipeline.joblib"
    process = subprocess.Popen(
        [str(BIN / "dvc"), "repro"],
        cwd=credit_copy,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("> mlform stage train"):
            break
    time.sleep(1.5)  # inside the search
    import os

    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not pipeline.exists()  # DVC removed the old output; no new one was written
    status = dvc("status", "--json", "dvc.yaml", cwd=credit_copy)
    assert "train-credit-gbm" in json.loads(status.out.splitlines()[0])
    done = dvc("repro", cwd=credit_copy)
    assert done.ran[0] == "train-credit-gbm"
    assert "Data and pipelines are up to date." in dvc("status", "dvc.yaml", cwd=credit_copy).out
    assert not list(credit_copy.joinpath("artifacts").rglob(".*.partial-*"))
