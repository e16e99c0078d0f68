"""A credit-risk project whose pipeline ran (in-process, no DVC), and prediction logs in the
exact format the local server writes, built from real rows and the real ONNX model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import CREDIT_INPUTS, EXAMPLES, copy_example

INPUTS = list(CREDIT_INPUTS)
NUMERIC = {"age", "income", "employment_years", "loan_amount", "loan_term_months"}
MONITOR = "credit-risk-local"


@dataclass
class Scored:
    """A project with a profile, test predictions and an ONNX model (no version registered:
    monitoring falls back to the workspace's outputs)."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / ".mlform" / "serve" / "credit-risk-local" / "logs"

    @property
    def out(self) -> Path:
        return self.root / ".mlform" / "monitor" / MONITOR


def generate(tmp: Path, rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Rows of the example's own generator (``--shift`` moves the population)."""
    out = tmp / f"data-{rows}-{seed}-{shift}.csv"
    if not out.exists():
        subprocess.run(
            [
                sys.executable,
                str(EXAMPLES / "credit-risk" / "data" / "generate.py"),
                "--rows",
                str(rows),
                "--seed",
                str(seed),
                "--shift",
                str(shift),
                "--out",
                str(out),
            ],
            check=True,
        )
    return pd.read_csv(out)


@pytest.fixture(scope="session")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Scored:
    import mlform
    from mlform.runtime.stages import run_stage

    root = copy_example("credit-risk", tmp_path_factory.mktemp("monitoring") / "credit-risk")
    training = root / "ml" / "training.yaml"
    training.write_text(training.read_text().replace("budget: {n_iter: 6}", "budget: {n_iter: 2}"))
    mlform.compile(root)
    steps = (
        ("clean", "credit"),
        ("profile", "credit"),
        ("split", "credit"),
        ("train", "credit-gbm"),
    )
    for step, name in (*steps, ("export", "credit-risk")):
        assert run_stage(step, name, root / "params.yaml") == 0
    return Scored(root)


def predict(root: Path, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The model's outputs per row, as the server logs them."""
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(root / "artifacts/models/credit-risk/model.onnx"), providers=["CPUExecutionProvider"]
    )
    feeds = {
        c: (
            pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
            if c in NUMERIC
            else frame[c].astype(str).to_numpy(object)
        ).reshape(-1, 1)
        for c in INPUTS
    }
    label, probabilities = session.run(["label", "probabilities"], feeds)
    return [
        {"label": int(label[i]), "probabilities": [float(p) for p in probabilities[i]]}
        for i in range(len(frame))
    ]


LogWriter = Callable[..., list[str]]


@pytest.fixture
def write_log(scored: Scored) -> LogWriter:
    """Write rows as prediction records (and their labels as feedback, with ``columns`` of
    the row that are not inputs); return request ids."""

    def write(
        frame: pd.DataFrame,
        *,
        age_seconds: float = 0.0,
        labels: str | None = "default",
        file: str = "predictions.jsonl",
        drop: tuple[str, ...] = (),
        append: bool = False,
        version: str = "v0.1.0",
        columns: tuple[str, ...] = (),
    ) -> list[str]:
        scored.logs.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - age_seconds))
        outputs = predict(scored.root, frame)
        predictions, feedback, ids = [], [], []
        for i, (_, row) in enumerate(frame.iterrows()):
            request = f"req-{age_seconds:g}-{i}-{file}"
            ids.append(request)
            inputs = {
                c: (None if pd.isna(row[c]) else (float(row[c]) if c in NUMERIC else str(row[c])))
                for c in INPUTS
                if c not in drop
            }
            predictions.append(
                {
                    "timestamp": f"{stamp}.000Z",
                    "request_id": request,
                    "row": 0,
                    "deployment": "credit-risk-local",
                    "model": "credit-risk",
                    "version": version,
                    "protocol": "v2",
                    "inputs": inputs,
                    "outputs": outputs[i],
                }
            )
            if labels is not None:
                feedback.append(
                    {
                        "timestamp": f"{stamp}.000Z",
                        "model": "credit-risk",
                        "request_id": request,
                        "row": 0,
                        "label": int(row[labels]),
                        # what data/send.py sends beside the label (sex, say), as the server logs it
                        **({"columns": {c: row[c] for c in columns}} if columns else {}),
                    }
                )
        mode = "a" if append else "w"
        with (scored.logs / file).open(mode) as handle:
            handle.writelines(json.dumps(p) + "\n" for p in predictions)
        if feedback:
            with (scored.logs / "feedback.jsonl").open(mode) as handle:
                handle.writelines(json.dumps(f) + "\n" for f in feedback)
        return ids

    return write


@pytest.fixture(autouse=True)
def _fresh_logs(scored: Scored) -> None:
    """Each test writes its own window."""
    import shutil

    shutil.rmtree(scored.logs, ignore_errors=True)
    shutil.rmtree(scored.out, ignore_errors=True)


def send(root: Path, url: str, csv_path: Path, rows: int, *extra: str) -> None:
    """Production traffic with labels, sent by the example's own script (data/send.py)."""
    done = subprocess.run(
        [sys.executable, "data/send.py", str(csv_path), "--url", url, "--rows", str(rows), *extra],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"Sent {rows} row(s) to {url}")
