"""A trained credit-risk ONNX model and a real local server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlform.serving import daemon
from mlform.serving.config import Limits, PredictionLog, ServeConfig, ServedVersion
from tests.conftest import CREDIT_INPUTS, copy_example


@dataclass
class Trained:
    root: Path
    onnx: Path
    test: pd.DataFrame


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """The credit-risk example's stages run in-process (no DVC): clean, split, train, export."""
    import mlform
    from mlform.runtime.stages import run_stage

    root = copy_example("credit-risk", tmp_path_factory.mktemp("trained") / "credit-risk")
    training = root / "ml" / "training.yaml"
    training.write_text(training.read_text().replace("budget: {n_iter: 6}", "budget: {n_iter: 2}"))
    mlform.compile(root)
    steps = (("clean", "credit"), ("split", "credit"), ("train", "credit-gbm"))
    for step, name in (*steps, ("export", "credit-risk")):
        assert run_stage(step, name, root / "params.yaml") == 0
    return Trained(
        root,
        root / "artifacts/models/credit-risk/model.onnx",
        pd.read_parquet(root / "artifacts/datasets/credit/test.parquet"),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Live:
    url: str
    folder: Path
    config: ServeConfig
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {
            **({"Content-Type": "application/json"} if data is not None else {}),
            **self.headers,
        }
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={**sent, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                status = response.status
                kind = response.headers.get("content-type", "")
        except urllib.error.HTTPError as error:
            payload, status, kind = error.read(), error.code, error.headers.get("content-type", "")
        return status, json.loads(payload) if "json" in kind else payload.decode()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config_for(
    trained: Trained,
    folder: Path,
    port: int,
    weights: tuple[int, ...] = (100,),
    limits: Limits | None = None,
    log: PredictionLog | None = None,
) -> ServeConfig:
    versions = tuple(
        ServedVersion("credit-risk", f"v0.{i + 1}.0", str(trained.onnx), sha256(trained.onnx), w)
        for i, w in enumerate(weights)
    )
    return ServeConfig(
        "credit-risk-local",
        "127.0.0.1",
        port,
        versions,
        limits=limits or Limits(),
        prediction_log=log or PredictionLog(folder=str(folder / "logs")),
    )


@pytest.fixture(scope="module")
def live(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("server")
    config = config_for(trained, folder, free_port())
    running = daemon.apply(folder, config)
    yield Live(running.url, folder, config)
    daemon.stop(folder)


def row_inputs(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """A V2 'inputs' list for the rows of ``frame``, as a client would send them."""
    numeric = ["age", "income", "employment_years", "loan_amount", "loan_term_months"]
    names = columns or list(CREDIT_INPUTS)
    out = []
    for name in names:
        values = frame[name].tolist()
        if name in numeric:
            data = [None if pd.isna(v) else float(v) for v in values]
            out.append({"name": name, "shape": [len(values), 1], "datatype": "FP64", "data": data})
        else:
            out.append(
                {
                    "name": name,
                    "shape": [len(values)],
                    "datatype": "BYTES",
                    "data": [str(v) for v in values],
                }
            )
    return out
