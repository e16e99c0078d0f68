"""A new user's first project on scikit-learn's own data: load_breast_cancer with its real
column names ("mean radius"), a bin step beside other transforms and remainder:
passthrough. Trained, exported, reviewed and served for real; the pickle is only ever
loaded once its training digest matches, and it loads without mlform (as MLServer would).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import mlform
from mlform.runtime.export import read_metadata
from mlform.runtime.stages import run_stage
from mlform.serving import daemon
from mlform.serving.config import PredictionLog, ServeConfig, ServedVersion
from tests.conftest import build_tree
from tests.serving.conftest import Live, free_port, sha256

BIN = Path(sys.executable).parent


@dataclass
class Cancer:
    root: Path
    test: pd.DataFrame
    columns: list[str]

    @property
    def onnx(self) -> Path:
        return self.root / "artifacts/models/cancer/model.onnx"

    @property
    def pipeline(self) -> Path:
        return self.root / "artifacts/trainings/cancer-lr/pipeline.joblib"


def cancer_project(root: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame
    columns = "\n".join(f'    "{c}": {{dtype: float}}' for c in data.columns if c != "target")
    specs = f"""apiVersion: mlform/v1
kind: Dataset
metadata: {{name: cancer}}
spec:
  source: {{path: data/cancer.csv}}
  target: target
  columns:
{columns}
    target: {{dtype: int, allowed: [0, 1]}}
  split: {{method: stratified, test_size: 0.25}}
---
apiVersion: mlform/v1
kind: FeatureSet
metadata: {{name: cancer-features}}
spec:
  dataset: cancer
  transforms:
    - columns: ["mean radius", "mean texture"]
      steps: [{{bin: {{n_bins: 4}}}}]
    - columns: ["worst area"]
      steps: [log, scale]
  remainder: passthrough
---
apiVersion: mlform/v1
kind: Training
metadata: {{name: cancer-lr}}
spec:
  features: cancer-features
  estimator:
    class: LogisticRegression
    params: {{max_iter: 10000}}
  metrics: [roc_auc, accuracy]
---
apiVersion: mlform/v1
kind: Model
metadata: {{name: cancer}}
spec:
  training: cancer-lr
  gates:
    metrics:
      roc_auc: {{min: 0.9}}
"""
    return build_tree(
        root,
        {
            "mlform.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: cancer}\nspec:\n  specs: [ml]\n",
            "ml/specs.yaml": specs,
            "data/cancer.csv": data.to_csv(index=False),
        },
    )


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> Cancer:
    root = cancer_project(tmp_path_factory.mktemp("cancer") / "cancer")
    assert mlform.validate(root).valid
    mlform.compile(root)
    for step, name in (
        ("split", "cancer"),
        ("train", "cancer-lr"),
        ("evaluate", "cancer-lr"),
        ("export", "cancer"),
        ("review", "cancer"),
    ):
        assert run_stage(step, name, root / "params.yaml") == 0, step
    test = pd.read_parquet(root / "artifacts/datasets/cancer/test.parquet")
    return Cancer(root, test, [c for c in test.columns if c != "target"])


def test_the_signature_maps_each_column_to_its_onnx_name(cancer: Cancer) -> None:
    inputs = read_metadata(cancer.onnx)["inputs"]
    assert len(inputs) == 30
    assert inputs[0] == {"name": "mean_radius", "datatype": "FP64", "column": "mean radius"}
    assert {"name": "worst_area", "datatype": "FP64", "column": "worst area"} in inputs
    parity = json.loads((cancer.root / "artifacts/models/cancer/parity.json").read_text())
    assert parity["passed"] and parity["rows"] == len(cancer.test)
    card = (cancer.root / "artifacts/models/cancer/model_card.md").read_text()
    assert "`mean_radius` (column `mean radius`) (FP64)" in card


@pytest.fixture(scope="module")
def served(cancer: Cancer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("cancer-server")
    config = ServeConfig(
        "cancer-local",
        "127.0.0.1",
        free_port(),
        (ServedVersion("cancer", "v0.1.0", str(cancer.onnx), sha256(cancer.onnx), 100),),
        prediction_log=PredictionLog(folder=str(folder / "logs")),
    )
    running = daemon.apply(folder, config)
    yield Live(running.url, folder, config)
    daemon.stop(folder)


def _v2(frame: pd.DataFrame, names: dict[str, str]) -> list[dict[str, object]]:
    return [
        {
            "name": names[c],
            "shape": [len(frame), 1],
            "datatype": "FP64",
            "data": frame[c].astype(float).tolist(),
        }
        for c in names
    ]


def test_a_served_request_by_onnx_name_or_column_gives_the_trained_predictions(
    cancer: Cancer, served: Live
) -> None:
    rows = cancer.test.head(20)
    expected = joblib.load(cancer.pipeline).predict_proba(rows[cancer.columns])
    status, meta = served.call("GET", "/v2/models/cancer")
    assert status == 200
    assert meta["inputs"][0] == {"name": "mean_radius", "datatype": "FP64", "shape": [-1, 1]}
    onnx_names = {c: c.replace(" ", "_") for c in cancer.columns}
    for names in (onnx_names, {c: c for c in cancer.columns}):
        status, body = served.call("POST", "/v2/models/cancer/infer", {"inputs": _v2(rows, names)})
        assert status == 200, body
        outputs = {o["name"]: o for o in body["outputs"]}
        got = np.asarray(outputs["probabilities"]["data"]).reshape(-1, 2)
        assert np.max(np.abs(got - expected)) < 1e-4
    instances = rows[cancer.columns].to_dict(orient="records")  # what pandas users send
    status, body = served.call("POST", "/v1/models/cancer:predict", {"instances": instances})
    assert status == 200, body
    assert body["predictions"] == list(np.argmax(expected, axis=1))
    twice = _v2(rows, onnx_names) + _v2(rows, {"mean radius": "mean radius"})
    status, body = served.call("POST", "/v2/models/cancer/infer", {"inputs": twice})
    assert (status, body["error"]) == (400, "input 'mean radius' is given twice")
    log = served.folder / "logs" / "predictions.jsonl"
    deadline = time.monotonic() + 10
    while not (log.is_file() and log.read_text().count("\n") >= 60):
        assert time.monotonic() < deadline, "the prediction log was not written"
        time.sleep(0.1)
    record = json.loads(log.read_text().splitlines()[0])
    assert "mean radius" in record["inputs"] and "mean_radius" not in record["inputs"]


def _stage(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlform"), "stage", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
    )


class _Marker:
    """A pickle that, loaded, creates a file: what a tampered pipeline.joblib could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def test_a_tampered_pipeline_is_refused_and_never_unpickled(cancer: Cancer, tmp_path: Path) -> None:
    import shutil

    root = shutil.copytree(cancer.root, tmp_path / "cancer")
    pipeline = root / "artifacts/trainings/cancer-lr/pipeline.joblib"
    recorded = json.loads((root / "artifacts/trainings/cancer-lr/tuning.json").read_text())
    marker = tmp_path / "pwned"
    pipeline.write_bytes(pickle.dumps(_Marker(marker)))
    from mlform.runtime.export import sha256_file

    actual = sha256_file(pipeline)
    for step in ("export", "review"):
        done = _stage(root, step, "cancer")
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.strip() == (
            f"Error: artifacts/trainings/cancer-lr/pipeline.joblib has sha256 {actual}, not "
            f"{recorded['pipeline_sha256']} as recorded at training in "
            "artifacts/trainings/cancer-lr/tuning.json: the file changed after training (a "
            "tampered DVC cache or remote?) and is not loaded; retrain with "
            "`dvc repro --force train-cancer-lr`"
        )
        assert not marker.exists()


def test_a_pipeline_without_a_recorded_digest_is_not_loaded(cancer: Cancer, tmp_path: Path) -> None:
    import shutil

    root = shutil.copytree(cancer.root, tmp_path / "cancer")
    tuning = root / "artifacts/trainings/cancer-lr/tuning.json"
    tuning.write_text(json.dumps({"strategy": "none", "best_params": {}}))
    done = _stage(root, "export", "cancer")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Error: artifacts/trainings/cancer-lr/tuning.json records no sha256 of "
        "artifacts/trainings/cancer-lr/pipeline.joblib (trained by an older mlform, or not "
        "trained here), so it is not loaded; retrain with `dvc repro --force train-cancer-lr`"
    )


def without_mlform(tmp_path: Path) -> Path:
    """A site-packages folder with everything this interpreter has except mlform (and the
    .pth files an editable install of it works through)."""
    import sklearn

    site = Path(sklearn.__file__).resolve().parent.parent
    folder = tmp_path / "site"
    folder.mkdir()
    for entry in site.iterdir():
        if entry.name.startswith(("mlform", "_mlform", "__editable__")) or entry.suffix == ".pth":
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def test_the_trained_pipeline_loads_without_mlform_as_mlserver_does(
    cancer: Cancer, tmp_path: Path
) -> None:
    """mlserver-sklearn's SKLearnModel: joblib.load(uri), then predict / predict_proba."""
    site = without_mlform(tmp_path)
    rows = cancer.test.head(10)[cancer.columns]
    rows.to_parquet(tmp_path / "rows.parquet")
    script = f"""
import sys
sys.path[:0] = [{str(site)!r}]
try:
    import mlform
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("mlform is importable here: " + mlform.__file__)
import joblib, pandas as pd
model = joblib.load({str(cancer.pipeline)!r})
rows = pd.read_parquet({str(tmp_path / "rows.parquet")!r})
print(model.predict(rows).tolist())
print(model.predict_proba(rows).round(6).tolist())
assert not [m for m in sys.modules if m.startswith("mlform")]
"""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    labels, probabilities = (json.loads(line) for line in done.stdout.splitlines())
    expected = joblib.load(cancer.pipeline)
    assert labels == expected.predict(rows).tolist()
    assert probabilities == expected.predict_proba(rows).round(6).tolist()
