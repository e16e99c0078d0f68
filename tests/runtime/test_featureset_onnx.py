"""Every FeatureSet that `mlform validate` accepts converts to ONNX with parity.

The step kinds are enumerated pairwise, in one transform (A then B) and side by side (A
and B in two transforms, whose outputs the ColumnTransformer concatenates). A combination
is either refused at validate, with an error located in the FeatureSet, or trained,
converted and run in onnxruntime with the scikit-learn pipeline's predictions.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlform
from mlform import stage_params as P
from mlform.runtime.export import convert, parity, signature
from mlform.runtime.frames import dtypes, model_frame, model_inputs
from mlform.runtime.train import build_pipeline
from mlform.targets.dvc import _dataset_params, _featureset_params
from tests.conftest import build_tree

STEPS = {
    "impute": "impute: {strategy: median}",
    "scale": "scale",
    "onehot": "onehot: {handle_unknown: ignore}",
    "ordinal": "ordinal",
    "bin": "bin: {n_bins: 4}",
    "bin-onehot": "bin: {n_bins: 3, strategy: uniform, encode: onehot-dense}",
    "clip": "clip: {min: 1, max: 40}",
    "log": "log",
    "log-offset": "log: {offset: 2.5}",
    "polynomial": "polynomial",
}
CATEGORICAL_IMPUTE = "impute: {strategy: most_frequent}"
ENCODERS = ("onehot", "ordinal")
NUMERIC = ["n1", "n2", "n3", "n4"]
GAPPY = ["m1", "m2", "m3", "m4"]  # numbers with missing values, for transforms that impute
CATEGORICAL = ["c1", "c2", "c3", "c4"]
TRAINING = P.TrainingParams(
    dataset="data",
    features="",
    task="classification",
    estimator="sklearn.linear_model.LogisticRegression",
    params={"max_iter": 2000},
    tuning=None,
    metrics=["roc_auc"],
    seed=0,
)


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = 240
    data: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC + GAPPY):
        values = np.round(rng.gamma(2.0 + i % 4, 4.0, rows), 2)
        if name in GAPPY:
            values[rng.random(rows) < 0.05] = np.nan
        data[name] = values
    for name in CATEGORICAL:
        values = rng.choice(["red", "green", "blue", "teal"], rows).astype(object)
        values[rng.random(rows) < 0.05] = None
        data[name] = values
    score = np.nan_to_num(data["n1"]) - np.nan_to_num(data["n2"]) + (data["c1"] == "red") * 4
    data["y"] = (score > np.median(score)).astype(int)
    return pd.DataFrame(data)


def _transform(first: str, second: str | None, columns: list[str]) -> str:
    def step(kind: str) -> str:
        if kind == "impute" and columns[0].startswith("c"):
            return CATEGORICAL_IMPUTE
        if kind == "scale" and second in ("log", "log-offset"):
            return "scale: {method: minmax}"  # standard scores are negative: no log of them
        return STEPS[kind]

    kinds = [first] if second is None else [first, second]
    lines = [f"    - columns: [{', '.join(columns)}]", "      steps:"]
    lines += [f"        - {step(k)}" for k in kinds]
    return "\n".join(lines)


def _columns(kind: str, after: str | None, slot: int) -> list[str]:
    """Two columns of the kind the transform's first step takes."""
    categorical = kind in ENCODERS or (kind == "impute" and after in ENCODERS)
    pool = CATEGORICAL if categorical else GAPPY if kind == "impute" else NUMERIC
    return pool[2 * slot : 2 * slot + 2]


def combinations() -> dict[str, str]:
    """FeatureSet name → its transforms."""
    out = {}
    for first, second in itertools.product(STEPS, repeat=2):
        out[f"seq-{first}-{second}"] = _transform(first, second, _columns(first, second, 0))
        if first <= second:
            out[f"pair-{first}-{second}"] = "\n".join(
                [
                    _transform(first, None, _columns(first, None, 0)),
                    _transform(second, None, _columns(second, None, 1)),
                ]
            )
    return out


def project(root: Path, featuresets: dict[str, str]) -> Path:
    data = frame()
    columns = "\n".join(
        [f"    {n}: {{dtype: float}}" for n in NUMERIC]
        + [f"    {n}: {{dtype: float, nullable: true}}" for n in GAPPY]
        + [f"    {n}: {{dtype: category, nullable: true}}" for n in CATEGORICAL]
        + ["    y: {dtype: int, allowed: [0, 1]}"]
    )
    docs = [
        "apiVersion: mlform/v1\nkind: Dataset\nmetadata: {name: data}\nspec:\n"
        f"  source: {{path: data.csv}}\n  target: y\n  columns:\n{columns}\n"
        "  split: {method: random, test_size: 0.25}\n"
    ]
    for name, transforms in featuresets.items():
        docs.append(
            f"apiVersion: mlform/v1\nkind: FeatureSet\nmetadata: {{name: {name}}}\nspec:\n"
            f"  dataset: data\n  transforms:\n{transforms}\n"
        )
    build_tree(
        root,
        {
            "mlform.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: pairs}\nspec:\n  specs: [ml]\n",
            "ml/features.yaml": "---\n".join(docs),
            "data.csv": data.to_csv(index=False),
        },
    )
    return root


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Each combination `mlform validate` refuses, and its error diagnostics."""
    root = project(tmp_path_factory.mktemp("pairs"), combinations())
    refused: dict[str, list[str]] = {}
    for d in mlform.validate(root).diagnostics:
        if d.severity.value == "error":
            refused.setdefault(d.document, []).append(d.format())
    return refused


def test_refused_combinations_are_located_in_the_featureset(
    refused: dict[str, list[str]],
) -> None:
    assert refused, "some pairs (an encoder on numbers) must be refused"
    for document, lines in refused.items():
        assert document.startswith("FeatureSet '"), document
        for line in lines:
            assert "/ml/features.yaml:" in line, line
            assert " error E209: " in line, line


def test_every_accepted_combination_converts_with_parity(
    refused: dict[str, list[str]], tmp_path: Path
) -> None:
    accepted = {n: t for n, t in combinations().items() if f"FeatureSet '{n}'" not in refused}
    # The pairs the issue found broken: bin beside any other transform, and bin then more.
    assert {"pair-bin-scale", "pair-bin-onehot", "seq-bin-scale", "pair-bin-log"} <= set(accepted)
    graph = mlform.load(project(tmp_path / "accepted", accepted))
    from mlform.spec import Dataset, FeatureSet

    dataset = _dataset_params(graph, graph.get(Dataset, "data"))
    data = frame()
    train, test = data.iloc[:180], data.iloc[180:]
    failures = []
    for name in accepted:
        featureset = _featureset_params(graph.get(FeatureSet, name))
        inputs = model_inputs(featureset, dataset)
        X_train = model_frame(train, dtypes(dataset), inputs)
        X_test = model_frame(test, dtypes(dataset), inputs)
        pipeline = build_pipeline(TRAINING, featureset, dataset, inputs, name)
        sig = signature(dtypes(dataset), inputs)
        try:
            pipeline.fit(X_train, train["y"])
            model = convert(pipeline, sig, 17, "classification", "train", name)
            import onnxruntime as ort

            session = ort.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
            result = parity(session, pipeline, X_test, sig, "classification", P.Parity())
        except Exception as exc:  # collect every failing combination, not just the first
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:300]}")
            continue
        if not result["passed"]:
            failures.append(f"{name}: {result}")
    assert failures == []
