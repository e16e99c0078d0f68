"""The clients people use, at their defaults, against a real server on 127.0.0.1:
tritonclient.http (binary tensor data on) and tritonclient.grpc (raw_input_contents), with
a canary of two versions, the prediction log and the metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

from mlform.serving import daemon
from mlform.serving.config import Limits
from tests.conftest import CREDIT_INPUTS
from tests.serving.conftest import Live, Trained, config_for, free_port
from tests.serving.test_server import read_jsonl

http = pytest.importorskip("tritonclient.http")
grpcclient = pytest.importorskip("tritonclient.grpc")
from tritonclient.utils import InferenceServerException  # noqa: E402

NUMERIC = ("age", "income", "employment_years", "loan_amount", "loan_term_months")
MODEL = "credit-risk"
OUTPUTS = ("label", "probabilities")


@dataclass
class Both:
    live: Live
    http: Any  # tritonclient.http.InferenceServerClient
    grpc: Any  # tritonclient.grpc.InferenceServerClient
    grpc_target: str


def serve(trained: Trained, folder: Path, weights: tuple[int, ...], limits: Limits) -> Both:
    config = replace(
        config_for(trained, folder, free_port(), weights, limits), grpc_port=free_port()
    )
    running = daemon.apply(folder, config)
    target = f"127.0.0.1:{config.grpc_port}"
    return Both(
        Live(running.url, folder, config),
        http.InferenceServerClient(f"127.0.0.1:{config.port}"),
        grpcclient.InferenceServerClient(target),
        target,
    )


@pytest.fixture(scope="module")
def both(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    """Two versions of the model, 70/30 by request id; small limits to test them."""
    folder = tmp_path_factory.mktemp("protocols")
    served = serve(trained, folder, (70, 30), Limits(max_body_bytes=256 * 1024, max_batch=1000))
    yield served
    served.http.close()
    served.grpc.close()
    daemon.stop(folder)


def inputs_for(module: Any, frame: pd.DataFrame, **binary: bool) -> list[Any]:
    """InferInputs for ``frame``'s rows as a user would build them: FP64 and BYTES [N, 1]."""
    out = []
    for name in CREDIT_INPUTS:
        if name in NUMERIC:
            values = frame[name].to_numpy(dtype=np.float64).reshape(-1, 1)
            tensor = module.InferInput(name, list(values.shape), "FP64")
        else:
            values = np.asarray([str(v) for v in frame[name]], dtype=object).reshape(-1, 1)
            tensor = module.InferInput(name, list(values.shape), "BYTES")
        tensor.set_data_from_numpy(values, **binary)
        out.append(tensor)
    return out


def expected(trained: Trained, frame: pd.DataFrame) -> tuple[Any, Any]:
    session = ort.InferenceSession(str(trained.onnx), providers=["CPUExecutionProvider"])
    feeds = {
        name: (
            frame[name].to_numpy(dtype=np.float64)
            if name in NUMERIC
            else np.asarray([str(v) for v in frame[name]], dtype=object)
        ).reshape(-1, 1)
        for name in CREDIT_INPUTS
    }
    labels, probabilities = session.run(None, feeds)
    return labels, probabilities


def test_health_and_metadata(both: Both) -> None:
    for client in (both.http, both.grpc):
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready(MODEL)
        assert client.is_model_ready(MODEL, "v0.2.0")
    assert both.http.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    server = both.grpc.get_server_metadata(as_json=True)
    assert (server["name"], server["extensions"]) == ("mlform", ["binary_tensor_data"])
    rest = both.http.get_model_metadata(MODEL)
    grpc_metadata = both.grpc.get_model_metadata(MODEL, as_json=True)
    assert grpc_metadata["name"] == rest["name"] == MODEL
    assert grpc_metadata["versions"] == rest["versions"] == ["v0.1.0", "v0.2.0"]
    assert grpc_metadata["platform"] == "onnxruntime_onnx"
    assert grpc_metadata["inputs"][0] == {"name": "age", "datatype": "FP64", "shape": ["-1", "1"]}
    assert [i["name"] for i in grpc_metadata["inputs"]] == [i["name"] for i in rest["inputs"]]
    assert [o["name"] for o in grpc_metadata["outputs"]] == ["label", "probabilities"]


def test_unknown_models_and_versions(both: Both) -> None:
    assert not both.http.is_model_ready("nope")
    with pytest.raises(InferenceServerException) as raised:
        both.grpc.is_model_ready("nope")
    assert raised.value.status() == "StatusCode.NOT_FOUND"
    assert raised.value.message() == "unknown model 'nope'; served: credit-risk"
    with pytest.raises(InferenceServerException) as raised:
        both.grpc.get_model_metadata(MODEL, "v9.9.9")
    assert raised.value.status() == "StatusCode.NOT_FOUND"
    assert raised.value.message() == (
        "model 'credit-risk' has no version 'v9.9.9'; served: v0.1.0, v0.2.0"
    )


def test_infer_at_the_clients_defaults_matches_onnxruntime(both: Both, trained: Trained) -> None:
    frame = trained.test.head(25)  # with missing values: NaN in binary FP64
    labels, probabilities = expected(trained, frame)
    results = [
        both.http.infer(MODEL, inputs_for(http, frame)),  # binary in, binary out
        both.http.infer(
            MODEL,
            inputs_for(http, frame, binary_data=False),  # JSON in, JSON out
            outputs=[http.InferRequestedOutput(n, binary_data=False) for n in OUTPUTS],
            headers={"Content-Type": "application/json"},
        ),
        both.grpc.infer(MODEL, inputs_for(grpcclient, frame)),
        both.grpc.infer(
            MODEL,
            inputs_for(grpcclient, frame),
            outputs=[grpcclient.InferRequestedOutput("probabilities")],
        ),
    ]
    for result in results[:3]:
        assert np.array_equal(result.as_numpy("label"), labels)
        assert np.allclose(result.as_numpy("probabilities"), probabilities, atol=1e-6)
    assert results[3].as_numpy("label") is None
    # JSON without a Content-Type is refused (as a cross-site post would be): tritonclient
    # sends none with binary_data=False, so such callers set it
    with pytest.raises(InferenceServerException) as raised:
        both.http.infer(MODEL, inputs_for(http, frame, binary_data=False))
    assert (raised.value.status(), raised.value.message()) == (
        "415",
        "the request body must be JSON sent as Content-Type: application/json; got no Content-Type",
    )
    assert np.allclose(results[3].as_numpy("probabilities"), probabilities, atol=1e-6)


def test_canary_routes_by_request_id_the_same_over_rest_and_grpc(
    both: Both, trained: Trained
) -> None:
    frame = trained.test.head(1)
    chosen = {}
    for i in range(60):
        identifier = f"customer-{i}"
        rest = both.http.infer(MODEL, inputs_for(http, frame), request_id=identifier)
        over_grpc = both.grpc.infer(MODEL, inputs_for(grpcclient, frame), request_id=identifier)
        version = rest.get_response()["model_version"]
        assert over_grpc.get_response().model_version == version
        assert over_grpc.get_response().id == identifier
        chosen[identifier] = version
    assert set(chosen.values()) == {"v0.1.0", "v0.2.0"}
    pinned = both.grpc.infer(MODEL, inputs_for(grpcclient, frame), model_version="0.2.0")
    assert pinned.get_response().model_version == "v0.2.0"


def test_prediction_log_and_metrics_count_binary_and_grpc(both: Both, trained: Trained) -> None:
    frame = trained.test.head(3)
    both.http.infer(MODEL, inputs_for(http, frame), request_id="logged-binary")
    both.grpc.infer(MODEL, inputs_for(grpcclient, frame), request_id="logged-grpc")
    records = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = [
            r
            for r in read_jsonl(both.live.folder / "logs" / "predictions.jsonl")
            if str(r["request_id"]).startswith("logged-")
        ]
        if len(records) == 6:
            break
        time.sleep(0.05)
    assert [(r["request_id"], r["protocol"], r["row"]) for r in records] == [
        ("logged-binary", "v2", 0),
        ("logged-binary", "v2", 1),
        ("logged-binary", "v2", 2),
        ("logged-grpc", "grpc", 0),
        ("logged-grpc", "grpc", 1),
        ("logged-grpc", "grpc", 2),
    ]
    first = frame.iloc[0]
    for record in (records[0], records[3]):
        assert record["inputs"]["housing"] == str(first["housing"])
        assert record["inputs"]["loan_amount"] == float(first["loan_amount"])
        assert sorted(record["outputs"]) == ["label", "probabilities"]
    assert records[0]["outputs"] == records[3]["outputs"]  # the same ONNX in both versions


def grpc_counts(live: Live) -> dict[str, float]:
    """mlform_inference_requests_total of protocol grpc by status, over models/versions."""
    status, text = live.call("GET", "/metrics")
    assert status == 200
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("mlform_inference_requests_total{") and 'protocol="grpc"' in line:
            labels, value = line.rsplit(" ", 1)
            code = labels.split('status="')[1].split('"')[0]
            counts[code] = counts.get(code, 0) + float(value)
    return counts


def test_metrics_count_grpc_requests(both: Both, trained: Trained) -> None:
    before = grpc_counts(both.live)
    frame = trained.test.head(2)
    both.grpc.infer(MODEL, inputs_for(grpcclient, frame))
    both.grpc.infer(MODEL, inputs_for(grpcclient, frame))
    with pytest.raises(InferenceServerException):
        both.grpc.infer(MODEL, inputs_for(grpcclient, frame)[:-1])
    with pytest.raises(InferenceServerException):
        both.grpc.infer("nope", inputs_for(grpcclient, frame))
    after = grpc_counts(both.live)
    assert {k: after[k] - before.get(k, 0) for k in after} == {"200": 2, "400": 1, "404": 1}


def test_hot_swap_reaches_grpc_and_binary_clients(trained: Trained, tmp_path: Path) -> None:
    """A new version swapped in while gRPC and binary REST requests run: none fails, and
    both see the new version once it is in."""
    served = serve(trained, tmp_path, (100,), Limits())
    frame = trained.test.head(2)
    seen: list[tuple[str, str]] = []
    failures: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        rest = http.InferenceServerClient(f"127.0.0.1:{served.live.config.port}")
        over_grpc = grpcclient.InferenceServerClient(served.grpc_target)
        while not stop.is_set():
            try:
                seen.append(
                    (
                        "grpc",
                        over_grpc.infer(MODEL, inputs_for(grpcclient, frame))
                        .get_response()
                        .model_version,
                    )
                )
                seen.append(
                    (
                        "rest",
                        rest.infer(MODEL, inputs_for(http, frame)).get_response()["model_version"],
                    )
                )
            except Exception as error:  # recorded, asserted below
                failures.append(repr(error))
        rest.close()
        over_grpc.close()

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        while len(seen) < 20:
            time.sleep(0.01)
        old = served.live.config
        new = replace(old, models=(replace(old.models[0], version="v0.2.0"),))
        daemon.apply(tmp_path, new)  # SIGHUP: the same process, the same gRPC port
        count = len(seen)
        deadline = time.monotonic() + 30
        while len(seen) < count + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=30)
        served.http.close()
        served.grpc.close()
        daemon.stop(tmp_path)
    assert failures == []
    assert seen[0][1] == "v0.1.0"
    assert {v for p, v in seen[-4:]} == {"v0.2.0"}
    assert {p for p, v in seen if v == "v0.2.0"} == {"grpc", "rest"}
