"""Derived features: every kind of expression, validated, trained and converted to ONNX with
parity on the test split of scikit-learn's bundled datasets (real column names with
spaces, zeros to divide by, negatives to take the log of), a datetime column's parts
against pandas', and the same ONNX bytes whatever the hash seed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlform
from mlform import stage_params as P
from mlform.errors import UserError
from mlform.expressions import BINARY, FUNCTIONS, parse, to_source
from mlform.runtime import derived, derived_onnx
from mlform.runtime.export import convert, feeds, parity, signature
from mlform.runtime.features import derived_trees
from mlform.runtime.frames import dtypes, model_frame, model_inputs
from mlform.runtime.train import build_pipeline
from mlform.spec import Dataset, FeatureSet
from mlform.targets.dvc import _dataset_params, _featureset_params
from tests.conftest import build_tree

REPO = Path(__file__).resolve().parents[2]

# Every operator and function, over breast-cancer columns (names with spaces, backticked),
# a datetime column, and the derived features above each one.
CANCER_DERIVED = {
    "area_per_concavity": "`mean area` / `mean concavity`",  # zeros: x / 0 is missing
    "radius_gap": "`worst radius` - `mean radius`",
    "perimeter_sum": "`mean perimeter` + `worst perimeter` * 0.5",
    "radius_squared": "`mean radius` ** 2",
    "inverse_root": "`mean texture` ** -0.5",
    "negated": "-`mean smoothness`",
    "large": "`mean area` > 700",
    "small": "`mean area` <= 400",
    "less": "`mean texture` < 18",
    "at_least": "`mean texture` >= 20",
    "equal": "`mean concavity` == 0",
    "not_equal": "`mean concavity` != 0",
    "both": "large and `mean smoothness` > 0.1",
    "either": "small or less",
    "neither": "not (small or large)",
    "bucket": "where(`mean radius` < 12, 0, where(`mean radius` < 16, 1, 2))",
    "clipped": "clip(radius_gap, 0, 5)",
    "log_concavity": "log(`mean concavity`)",  # log(0) is missing
    "absolute": "abs(radius_gap - 4)",
    "tens": "floor(`mean texture` / 10)",
    "exam_year": "year(`examined at`)",
    "exam_month": "month(`examined at`)",
    "exam_day": "day(`examined at`)",
    "exam_weekday": "weekday(`examined at`)",
    "exam_hour": "hour(`examined at`)",
    "days_since": "days_between(`examined at`, `referred at`)",
}
DIABETES_DERIVED = {
    "bmi_bp": "bmi * bp",
    "log_s5": "log(s5)",  # standardized: negatives, whose log is missing
    "root_bmi": "bmi ** 0.5",  # a negative to a fractional power is missing too
    "ratio": "s1 / (s2 + s3)",
    "high": "where(bmi > 0, bmi, 0) >= 0.05",
}


def dates(rows: int, seed: int) -> tuple[pd.Series, pd.Series]:
    """Two datetime columns from 1900 to 2100 (leap days, pre-1970, missing values)."""
    rng = np.random.default_rng(seed)
    low, high = pd.Timestamp("1900-01-01").value // 10**9, pd.Timestamp("2100-12-31").value // 10**9
    seconds = rng.integers(low, high, rows)
    seconds[:4] = [
        pd.Timestamp(t).value // 10**9
        for t in ("2000-02-29T23:59:59", "1969-12-31T23:00:00", "1900-03-01", "2024-02-29T12:30:00")
    ]
    examined = pd.Series(pd.to_datetime(seconds, unit="s"))
    examined[rng.random(rows) < 0.03] = pd.NaT
    referred = examined - pd.to_timedelta(rng.integers(0, 400 * 86400, rows), unit="s")
    return examined, referred


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame
    data["examined at"], data["referred at"] = dates(len(data), 3)
    return data


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True, scaled=True).frame


def _column(name: str, values: pd.Series, target: str) -> str:
    if pd.api.types.is_datetime64_any_dtype(values):
        kind = "datetime, nullable: true"
    elif name == target and values.nunique() == 2:
        kind = "int, allowed: [0, 1]"
    else:
        kind = "float"
    return f'    "{name}": {{dtype: {kind}}}'


def project(root: Path, data: pd.DataFrame, target: str, derived_features: dict[str, str]) -> Path:
    columns = "\n".join(_column(n, data[n], target) for n in data.columns)
    numeric = [c for c in data.columns if c != target and not c.endswith(" at")]
    names = ", ".join(f'"{c}"' for c in [*numeric, *derived_features])
    dropped = [c for c in data.columns if c.endswith(" at")]
    drop = f"    - columns: [{', '.join(repr(c) for c in dropped)}]\n      drop: true\n"
    lines = "\n".join(f'    {k}: "{v}"' for k, v in derived_features.items())
    build_tree(
        root,
        {
            "mlform.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: derived}\n"
            "spec:\n  specs: [ml]\n",
            "ml/specs.yaml": "apiVersion: mlform/v1\nkind: Dataset\nmetadata: {name: data}\nspec:\n"
            f"  source: {{path: data.csv}}\n  target: {target}\n  columns:\n{columns}\n"
            "  split: {method: random, test_size: 0.25}\n---\n"
            "apiVersion: mlform/v1\nkind: FeatureSet\nmetadata: {name: features}\nspec:\n"
            f"  dataset: data\n  derived:\n{lines}\n  transforms:\n"
            f"    - columns: [{names}]\n      steps:\n        - impute: {{strategy: median}}\n"
            f"        - scale\n{drop if dropped else ''}",
            "data.csv": data.to_csv(index=False),
        },
    )
    return root


def train_and_convert(
    root: Path, data: pd.DataFrame, training: P.TrainingParams
) -> tuple[Any, Any, Any, Any]:
    result = mlform.validate(root)
    assert [d.format() for d in result.diagnostics if d.severity.value == "error"] == []
    graph = mlform.load(root)
    dataset = _dataset_params(graph, graph.get(Dataset, "data"))
    featureset = _featureset_params(graph.get(FeatureSet, "features"))
    inputs = model_inputs(featureset, dataset)
    X = model_frame(data, dtypes(dataset), inputs)
    cut = int(len(data) * 0.75)
    pipeline = build_pipeline(training, featureset, dataset, inputs, "features")
    pipeline.fit(X.iloc[:cut], data[dataset.target].iloc[:cut])
    sig = signature(dtypes(dataset), inputs)
    model = convert(pipeline, sig, 17, training.task, "train", "features")
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return pipeline, session, X.iloc[cut:], sig


def training(task: str, estimator: str, params: dict[str, Any]) -> P.TrainingParams:
    return P.TrainingParams("data", "features", task, estimator, params, [], 0)


def derived_values(pipeline: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(scikit-learn's, ONNX's) derived features alone, on ``X``, and their names."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    part = pipeline.named_steps["features"].named_transformers_["t0"].named_steps["derive"]
    reads = list(part.columns)
    values = X[reads].to_numpy(np.float64)
    model = to_onnx(
        part, initial_types=[("X", DoubleTensorType([None, len(reads)]))], target_opset=17
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [n for n, _ in part.features]
    return part.transform(values), session.run(None, {"X": values})[0], names


def test_every_kind_of_expression_converts_with_parity_on_breast_cancer(tmp_path: Path) -> None:
    data = cancer()
    root = project(tmp_path, data, "target", CANCER_DERIVED)
    spec = training("classification", "sklearn.linear_model.LogisticRegression", {"max_iter": 5000})
    pipeline, session, X_test, sig = train_and_convert(root, data, spec)
    # the served inputs: the dataset's columns by ONNX names, dates as epoch seconds
    served = {i["name"]: i["datatype"] for i in sig.inputs}
    assert served["mean_radius"] == "FP64" and served["examined_at"] == "FP64"
    assert not any(name in served for name in CANCER_DERIVED)
    result = parity(session, pipeline, X_test, sig, "classification", P.Parity())
    assert result["passed"] and result["label_agreement"] == 1.0, result
    assert result["max_abs_diff"] < 1e-5, result

    ours, theirs, names = derived_values(pipeline, X_test)
    assert names[-len(CANCER_DERIVED) :] == list(CANCER_DERIVED)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    by_name = dict(zip(names, ours.T, strict=True))
    zero = X_test["mean concavity"].to_numpy() == 0
    assert zero.any()  # the split holds zeros to divide by
    assert np.isnan(by_name["area_per_concavity"][zero]).all()
    assert np.isnan(by_name["log_concavity"][zero]).all()
    assert set(np.unique(by_name["bucket"])) == {0.0, 1.0, 2.0}


def test_date_parts_match_pandas_and_missing_dates_are_missing(tmp_path: Path) -> None:
    data = cancer()
    root = project(tmp_path, data, "target", CANCER_DERIVED)
    spec = training("classification", "sklearn.linear_model.LogisticRegression", {"max_iter": 5000})
    pipeline, _, _, _ = train_and_convert(root, data, spec)
    stamps = ["examined at", "referred at"]
    X_all = model_frame(data, dict.fromkeys(stamps, "datetime"), stamps)
    X_all = pd.concat([data.drop(columns=stamps), X_all], axis=1)
    ours, theirs, names = derived_values(pipeline, X_all)
    got = dict(zip(names, ours.T, strict=True))
    served = dict(zip(names, theirs.T, strict=True))
    for feature in ("exam_year", "exam_month", "exam_day", "exam_weekday", "exam_hour"):
        # the same float operations (Div, Floor, Mul, Sub, ...), bit for bit
        np.testing.assert_array_equal(got[feature], served[feature])
    when, since = data["examined at"], data["referred at"]
    known = when.notna().to_numpy()
    assert np.isnan(got["exam_year"][~known]).all() and (~known).any()
    for feature, expected in {
        "exam_year": when.dt.year,
        "exam_month": when.dt.month,
        "exam_day": when.dt.day,
        "exam_weekday": when.dt.day_of_week,
        "exam_hour": when.dt.hour,
        "days_since": (when - since) / pd.Timedelta(days=1),
    }.items():
        np.testing.assert_allclose(got[feature][known], expected[known].to_numpy(np.float64))
    assert got["exam_month"][0] == 2 and got["exam_day"][0] == 29  # 2000-02-29, a leap day


def test_nan_semantics_on_diabetes_regression(tmp_path: Path) -> None:
    data = diabetes()
    root = project(tmp_path, data, "target", DIABETES_DERIVED)
    spec = training("regression", "sklearn.linear_model.Ridge", {"alpha": 1.0})
    pipeline, session, X_test, sig = train_and_convert(root, data, spec)
    result = parity(session, pipeline, X_test, sig, "regression", P.Parity(max_abs_diff=1e-3))
    assert result["passed"], result
    ours, theirs, names = derived_values(pipeline, X_test)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    got = dict(zip(names, ours.T, strict=True))
    negative = X_test["s5"].to_numpy() < 0
    assert negative.any() and np.isnan(got["log_s5"][negative]).all()
    assert np.isnan(got["root_bmi"][X_test["bmi"].to_numpy() < 0]).all()


def test_missing_in_missing_out_and_division_by_zero() -> None:
    """The semantics docs/spec.md states, in NumPy and in ONNX alike."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    X = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 2.0], [np.nan, 1.0], [np.inf, 1.0]])
    cases = {
        "a / b": [np.nan, np.nan, -0.5, np.nan, np.nan],  # x/0 and 0/0 missing, inf missing
        "log(a)": [0.0, np.nan, np.nan, np.nan, np.nan],
        "a > 0": [1.0, 0.0, 0.0, np.nan, 1.0],  # a missing value compares as missing
        "not a": [0.0, 1.0, 0.0, np.nan, 0.0],
        "a > 0 and b > 0": [0.0, 0.0, 0.0, np.nan, 1.0],
        "where(a > 0, b, 7)": [0.0, 7.0, 7.0, np.nan, 1.0],
        "clip(a, -0.5, 0.5)": [0.5, 0.0, -0.5, np.nan, 0.5],
        "a * 1e300 * 1e300": [np.nan, 0.0, np.nan, np.nan, np.nan],  # overflow: missing
    }
    features = [(f"f{i}", to_source(parse(s))) for i, s in enumerate(cases)]
    model = derived.DerivedFeatures(features, ["a", "b"]).fit(X)
    derived_onnx.register()
    onx = to_onnx(model, initial_types=[("X", DoubleTensorType([None, 2]))], target_opset=17)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.array(list(cases.values())).T
    np.testing.assert_array_equal(model.transform(X), expected)
    np.testing.assert_array_equal(session.run(None, {"X": X})[0], expected)


def test_the_evaluator_and_the_converter_know_the_same_operators() -> None:
    language = set(FUNCTIONS) | set(BINARY) | {"neg", "not"}
    assert derived.tree_ops() == language
    assert derived_onnx.ops() == language


def test_a_hand_edited_expression_in_params_yaml_is_a_located_user_error() -> None:
    featureset = P.FeatureSetParams("data", "drop", [], {"ratio": "open('x')"})
    with pytest.raises(UserError) as caught:
        derived_trees(featureset, "features")
    assert str(caught.value) == (
        "params.yaml: featureset.features.derived.ratio: unknown function 'open'; the "
        "functions are abs, clip, day, days_between, floor, hour, log, month, weekday, "
        "where, year (at character 1); is params.yaml stale? Run `mlform compile`"
    )


SCRIPT = """
import hashlib, sys
import numpy as np
from mlform.expressions import parse, to_source
from mlform.runtime import derived, derived_onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType
sources = {sources!r}
features = [(n, to_source(parse(s))) for n, s in sources.items()]
model = derived.DerivedFeatures(features, ["a", "b", "t"]).fit(np.zeros((2, 3)))
derived_onnx.register()
onx = to_onnx(model, initial_types=[("X", DoubleTensorType([None, 3]))], target_opset=17)
print(hashlib.sha256(onx.SerializeToString()).hexdigest())
"""


def test_the_same_onnx_bytes_whatever_the_hash_seed() -> None:
    sources = {
        "r": "a / b",
        "f": "a > 0 and not b < 1 or a == b",
        "w": "where(a != 0, clip(a, 0, 1), abs(b) ** 2)",
        "d": "year(t) + month(t) + weekday(t) + hour(t) + days_between(t, t)",
    }
    runs = [  # two processes at once: each spends seconds importing skl2onnx
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT.format(sources=sources)],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO / "src")},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in ("1", "12345")
    ]
    digests = {run.communicate(timeout=120)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(digests) == 1, digests
    assert hashlib.sha256().hexdigest() not in digests


def test_served_rows_feed_dates_as_epoch_seconds() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(
                ["1970-01-02T00:00:01", None, "2024-02-29T12:00:00+02:00"],
                format="ISO8601",
                utc=True,
            )
        }
    )
    X = model_frame(frame, {"when": "datetime"}, ["when"])
    sig = signature({"when": "datetime"}, ["when"])
    fed = feeds(X, sig)["when"].ravel()
    assert fed[0] == 86401.0 and np.isnan(fed[1])
    assert fed[2] == pd.Timestamp("2024-02-29T10:00:00Z").value / 1e9
