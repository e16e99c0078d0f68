"""`mlform stage clean`: each cleaning rule removes (or clips) exactly the rows it should, on
scikit-learn's bundled data with injected dirty rows and on the examples; the bound fails
the stage; the output is the same bytes in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import Run, build_tree

PROJECT = """apiVersion: mlform/v1
kind: Project
metadata: {name: cleaning-test}
spec: {specs: [ml], defaults: {seed: 7}}
"""


def _dataset(name: str, source: str, target: str, columns: dict[str, Any], cleaning: Any) -> str:
    doc = {
        "apiVersion": "mlform/v1",
        "kind": "Dataset",
        "metadata": {"name": name},
        "spec": {
            "source": {"path": source},
            "target": target,
            "columns": columns,
            "cleaning": cleaning,
        },
    }
    return json.dumps(doc, indent=2)  # JSON is YAML


def _cancer_frame() -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Breast cancer (569 rows) as text, with 9 dirty rows appended; which rows were copied."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].astype(int)
    text = frame.astype(str)
    small_benign = frame.index[(frame["target"] == 1) & (frame["mean area"] < 1500)]
    copies = {"duplicate": [0, 1, 2], "dirty": [int(i) for i in small_benign[:6]]}
    b = copies["dirty"]
    dirty = [
        *(text.iloc[i].to_dict() for i in copies["duplicate"]),
        {**text.iloc[b[0]].to_dict(), "target": ""},
        {**text.iloc[b[1]].to_dict(), "target": ""},
        {**text.iloc[b[2]].to_dict(), "mean radius": "4.5"},
        {**text.iloc[b[3]].to_dict(), "mean radius": "31.25"},
        {**text.iloc[b[4]].to_dict(), "mean texture": "abc"},
        {**text.iloc[b[5]].to_dict(), "mean texture": "55"},
    ]
    return pd.concat([text, pd.DataFrame(dirty)], ignore_index=True), copies


CANCER_RULES = [
    "drop_duplicates",
    "drop_missing_target",
    {"outside_schema": {"action": "clip", "columns": ["mean radius"]}},
    {"outside_schema": {"action": "drop"}},
    {
        "drop_where": {
            "condition": "`mean area` > 1500 and target == 0",
            "description": "large malignant masses are another study",
        }
    },
]


def _cancer_project(root: Path, rules: list[Any], bound: float | None = None) -> Path:
    frame, _ = _cancer_frame()
    columns: dict[str, Any] = {c: {"dtype": "float"} for c in frame.columns}
    columns["mean radius"] = {"dtype": "float", "min": 6, "max": 30}
    columns["mean texture"] = {"dtype": "float", "min": 9, "max": 40}
    columns["target"] = {"dtype": "int", "allowed": [0, 1]}
    cleaning: dict[str, Any] = {"rules": rules}
    if bound is not None:
        cleaning["max_removed_fraction"] = bound
    build_tree(
        root,
        {
            "mlform.yaml": PROJECT,
            "ml/cancer.yaml": _dataset("cancer", "data/cancer.csv", "target", columns, cleaning),
        },
    )
    (root / "data").mkdir()
    frame.to_csv(root / "data/cancer.csv", index=False, lineterminator="\n")
    return root


def _artifact(root: Path, dataset: str, file: str) -> Any:
    return json.loads((root / "artifacts/datasets" / dataset / file).read_text())


def _clean(run_cli: Callable[..., Run], root: Path, name: str) -> Run:
    assert run_cli("compile", cwd=root).code == 0
    return run_cli("stage", "clean", name, cwd=root)


def test_each_rule_on_breast_cancer_removes_exactly_its_rows(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    root = _cancer_project(tmp_path / "cancer", CANCER_RULES)
    done = _clean(run_cli, root, "cancer")
    assert (done.code, done.out) == (
        0,
        "Dataset 'cancer': cleaning kept 557 of 578 rows (removed 21, 3.63%; clipped 2 values).\n",
    )
    assert _artifact(root, "cancer", "cleaning.json") == {
        "passed": True,
        "rows_before": 578,
        "rows_after": 557,
        "removed": 21,
        "removed_fraction": 0.036332,
        "max_removed_fraction": 0.05,
        "clipped": 2,
        "rules": {
            "1-drop_duplicates": {"removed": 3},
            "2-drop_missing_target": {"removed": 2},
            "3-outside_schema": {"removed": 0, "clipped": 2},
            "4-outside_schema": {"removed": 2, "clipped": 0},
            "5-drop_where": {"removed": 14},
        },
    }
    # the 14 the condition drops, counted by pandas on the original data
    from sklearn.datasets import load_breast_cancer

    original = load_breast_cancer(as_frame=True).frame
    assert int(((original["mean area"] > 1500) & (original["target"] == 0)).sum()) == 14
    report = {r["rule"]: r for r in _artifact(root, "cancer", "cleaning_report.json")["rules"]}
    # rows are CSV lines: the header is line 1, the 569 clean rows lines 2-570
    assert report["1-drop_duplicates"]["examples"][0] == {
        "row": 571,
        "values": {c: str(original.iloc[0][c]) if c != "target" else "0" for c in original},
    }
    assert [e["row"] for e in report["1-drop_duplicates"]["examples"]] == [571, 572, 573]
    assert report["2-drop_missing_target"]["examples"] == [
        {"row": 574, "values": {"target": None}},
        {"row": 575, "values": {"target": None}},
    ]
    assert report["3-outside_schema"]["examples"] == [
        {"row": 576, "column": "mean radius", "value": "4.5", "clipped_to": "6.0"},
        {"row": 577, "column": "mean radius", "value": "31.25", "clipped_to": "30.0"},
    ]
    assert report["4-outside_schema"]["examples"] == [
        {"row": 578, "values": {"mean texture": "abc"}},
        {"row": 579, "values": {"mean texture": "55"}},
    ]
    assert report["5-drop_where"]["does"] == (
        "drop rows where `mean area` > 1500 and target == 0 "
        "(large malignant masses are another study)"
    )
    cleaned = pd.read_parquet(root / "artifacts/datasets/cancer/cleaned.parquet")
    assert len(cleaned) == 557
    assert cleaned.loc[[574, 575], "mean radius"].tolist() == ["6.0", "30.0"]  # as text, clipped
    # the checks after cleaning read the cleaned rows, with the source's row numbers
    checked = run_cli("stage", "check", "cancer", cwd=root)
    assert (checked.code, _artifact(root, "cancer", "checks.json")["rows"]) == (0, 557)


def test_rules_apply_in_order(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    # dropping outside the schema first leaves the clip nothing to do
    rules = [CANCER_RULES[3], CANCER_RULES[2]]
    root = _cancer_project(tmp_path / "cancer", rules)
    assert _clean(run_cli, root, "cancer").code == 0
    assert _artifact(root, "cancer", "cleaning.json")["rules"] == {
        "1-outside_schema": {"removed": 6, "clipped": 0},  # 2 radii, 2 textures, 2 targets
        "2-outside_schema": {"removed": 0, "clipped": 0},
    }


def test_too_much_removed_fails_the_stage(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    root = _cancer_project(tmp_path / "cancer", CANCER_RULES, bound=0.02)
    done = _clean(run_cli, root, "cancer")
    assert done.code == 1
    assert done.out.splitlines() == [
        "ml/cancer.yaml:139:31: error E302: Dataset 'cancer': spec.cleaning.max_removed_fraction: "
        "cleaning would remove 21 of 578 rows (3.63%), over max_removed_fraction 2.00% "
        "(rule 1 drop_duplicates 3, rule 2 drop_missing_target 2, rule 4 outside_schema 2, "
        "rule 5 drop_where 14); the cleaned data is not written: fix the data or the rules, "
        "or raise the bound"
    ]
    assert done.err == "Stage clean cancer failed; nothing downstream runs.\n"
    assert not (root / "artifacts/datasets/cancer/cleaned.parquet").exists()
    assert _artifact(root, "cancer", "cleaning.json")["passed"] is False


def test_the_examples_clean_exactly_their_dirty_rows(
    credit: Path, diabetes: Path, run_cli: Callable[..., Run]
) -> None:
    done = run_cli("stage", "clean", "credit", cwd=credit)
    assert done.out == (
        "Dataset 'credit': cleaning kept 5,000 of 5,012 rows (removed 12, 0.24%; clipped 1 values).\n"
    )
    assert _artifact(credit, "credit", "cleaning.json")["rules"] == {
        "1-outside_schema": {"removed": 0, "clipped": 1},
        "2-drop_duplicates": {"removed": 4},
        "3-drop_missing_target": {"removed": 2},
        "4-outside_schema": {"removed": 4, "clipped": 0},
        "5-drop_where": {"removed": 2},
    }
    report = _artifact(credit, "credit", "cleaning_report.json")["rules"]
    assert [e["values"] for e in report[3]["examples"]] == [
        {"age": "150"},
        {"income": "-5.00"},
        {"housing": "castle"},
        {"applicant_id": "B42000045"},
    ]
    # what is left is the generator's 5,000 clean rows, in order
    cleaned = pd.read_parquet(credit / "artifacts/datasets/credit/cleaned.parquet")
    source = pd.read_csv(credit / "data/credit.csv", dtype=str, keep_default_na=False)
    assert cleaned.index.tolist() == list(range(5000))
    assert cleaned.fillna("").equals(source.iloc[:5000].astype(cleaned.dtypes.to_dict()))
    done = run_cli("stage", "clean", "diabetes", cwd=diabetes)
    assert done.out == (
        "Dataset 'diabetes': cleaning kept 442 of 442 rows (removed 0, 0.00%; clipped 0 values).\n"
    )


def test_conditions_on_missing_values_and_a_parquet_source(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    frame = pd.DataFrame(
        {
            "x": [1, 7, None, 4, 12],
            "n": [5, 200, 7, -3, 9],
            "kind": ["a", "b", None, "a", "b"],
            "when": pd.to_datetime(["2024-01-01", "2023-05-01", None, "2024-06-01", "2024-02-01"]),
            "y": [0, 1, 0, 1, 0],
        }
    )
    columns = {
        "x": {"dtype": "float", "nullable": True},
        "n": {"dtype": "int", "min": 0, "max": 100},
        "kind": {"dtype": "category", "nullable": True},
        "when": {"dtype": "datetime", "nullable": True},
        "y": {"dtype": "int"},
    }
    rules = [
        {"outside_schema": {"action": "clip"}},
        # a comparison with a missing value is false, so not(...) holds for row 3
        {"drop_where": {"condition": "not (x < 5) and (kind != 'a' or kind is missing)"}},
        {"drop_where": {"condition": "when < '2024-01-01'"}},
    ]
    build_tree(
        tmp_path,
        {
            "mlform.yaml": PROJECT,
            "ml/d.yaml": _dataset(
                "d", "data/d.parquet", "y", columns, {"rules": rules, "max_removed_fraction": 1}
            ),
        },
    )
    (tmp_path / "data").mkdir()
    frame.to_parquet(tmp_path / "data/d.parquet", index=False)
    assert _clean(run_cli, tmp_path, "d").code == 0
    assert _artifact(tmp_path, "d", "cleaning.json")["rules"] == {
        "1-outside_schema": {"removed": 0, "clipped": 2},
        "2-drop_where": {"removed": 3},  # rows 2 (x 7, b), 3 (x missing), 5 (x 12, b)
        "3-drop_where": {"removed": 0},
    }
    cleaned = pd.read_parquet(tmp_path / "artifacts/datasets/d/cleaned.parquet")
    assert cleaned.index.tolist() == [0, 3]
    assert cleaned["n"].tolist() == [5, 0]  # -3 clipped to min 0, still an integer column
    assert str(cleaned["n"].dtype) == "int64"


def test_same_bytes_in_every_process(tmp_path: Path) -> None:
    outputs = []
    for seed in ("0", "4242"):
        root = _cancer_project(tmp_path / f"run-{seed}", CANCER_RULES)
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        for args in (["compile"], ["stage", "clean", "cancer"]):
            subprocess.run(
                [sys.executable, "-m", "mlform", *args],
                cwd=root,
                env=environment,
                check=True,
                capture_output=True,
            )
        folder = root / "artifacts/datasets/cancer"
        outputs.append(
            {
                f: (folder / f).read_bytes()
                for f in ("cleaned.parquet", "cleaning.json", "cleaning_report.json")
            }
        )
        outputs[-1]["params.yaml"] = (root / "params.yaml").read_bytes()
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("step", ["check", "profile", "split"])
def test_later_stages_need_the_cleaned_data(
    step: str, credit: Path, run_cli: Callable[..., Run]
) -> None:
    done = run_cli("stage", step, "credit", cwd=credit)
    assert done.code == 1
    assert (
        "artifacts/datasets/credit/cleaned.parquet does not exist; the cleaning stage writes it "
        "(`dvc repro`)" in done.out + done.err
    )
