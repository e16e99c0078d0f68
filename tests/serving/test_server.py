"""The local server over real HTTP on 127.0.0.1: protocol, validation, metrics, logs."""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from mlform.errors import UserError
from mlform.serving import daemon
from tests.conftest import CREDIT_INPUTS
from tests.serving.conftest import Live, Trained, config_for, row_inputs


def test_health_and_server_metadata(live: Live) -> None:
    assert live.call("GET", "/v2/health/live") == (200, {"live": True})
    assert live.call("GET", "/v2/health/ready") == (200, {"ready": True})
    status, body = live.call("GET", "/v2")
    assert (
        status == 200 and body["name"] == "mlform" and body["extensions"] == ["binary_tensor_data"]
    )
    assert live.call("GET", "/v2/")[0] == 200


def test_model_metadata_is_the_real_signature(live: Live) -> None:
    status, body = live.call("GET", "/v2/models/credit-risk")
    assert status == 200
    assert (
        body["name"] == "credit-risk"
        and body["versions"] == ["v0.1.0"]
        and body["platform"] == "onnxruntime_onnx"
    )
    assert body["inputs"][0] == {"name": "age", "datatype": "FP64", "shape": [-1, 1]}
    assert {"name": "housing", "datatype": "BYTES", "shape": [-1, 1]} in body["inputs"]
    assert [o["name"] for o in body["outputs"]] == ["label", "probabilities"]
    assert live.call("GET", "/v2/models/credit-risk/versions/v0.1.0")[1] == body
    assert live.call("GET", "/v2/models/credit-risk/versions/0.1.0/ready")[1] == {
        "name": "credit-risk",
        "version": "v0.1.0",
        "ready": True,
    }
    assert live.call("GET", "/v1/models/credit-risk") == (
        200,
        {"name": "credit-risk", "ready": True},
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/models/fraud", "unknown model 'fraud'; served: credit-risk"),
        (
            "/v2/models/credit-risk/versions/v9.0.0",
            "model 'credit-risk' has no version 'v9.0.0'; served: v0.1.0",
        ),
        ("/v2/models/fraud/ready", "unknown model 'fraud'; served: credit-risk"),
        ("/nowhere", "no route for GET /nowhere"),
    ],
)
def test_unknown_models_versions_and_paths_are_404(live: Live, path: str, message: str) -> None:
    assert live.call("GET", path) == (404, {"error": message})


def test_v2_inference_matches_onnxruntime(live: Live, trained: Trained) -> None:
    rows = trained.test.head(20)
    status, body = live.call(
        "POST", "/v2/models/credit-risk/infer", {"id": "req-1", "inputs": row_inputs(rows)}
    )
    assert status == 200
    assert (body["model_name"], body["model_version"], body["id"]) == (
        "credit-risk",
        "v0.1.0",
        "req-1",
    )
    label, probabilities = body["outputs"]
    assert (label["name"], label["datatype"], label["shape"]) == ("label", "INT64", [20])
    assert (probabilities["name"], probabilities["datatype"], probabilities["shape"]) == (
        "probabilities",
        "FP32",
        [20, 2],
    )
    session = ort.InferenceSession(str(trained.onnx), providers=["CPUExecutionProvider"])
    feeds = {
        i["name"]: np.asarray(
            [np.nan if v is None else v for v in i["data"]],
            dtype=np.float64 if i["datatype"] == "FP64" else object,
        ).reshape(-1, 1)
        for i in row_inputs(rows)
    }
    expected_labels, expected = session.run(None, feeds)
    assert label["data"] == expected_labels.tolist()
    assert np.allclose(np.asarray(probabilities["data"]).reshape(20, 2), expected, atol=1e-6)


def test_other_numeric_datatypes_and_nested_data(live: Live, trained: Trained) -> None:
    inputs = row_inputs(trained.test.head(2))
    inputs[7] = {
        "name": "loan_term_months",
        "shape": [2, 1],
        "datatype": "INT64",
        "data": [[36], [48]],
    }
    status, body = live.call(
        "POST",
        "/v2/models/credit-risk/versions/v0.1.0/infer",
        {"inputs": inputs, "outputs": [{"name": "label"}]},
    )
    assert status == 200
    assert [o["name"] for o in body["outputs"]] == ["label"]
    assert len(body["id"]) == 32  # generated, so feedback can refer to it


def bad(live: Live, body: object, path: str = "/v2/models/credit-risk/infer") -> tuple[int, str]:
    status, payload = live.call("POST", path, body)
    return status, payload["error"]


def test_inputs_are_validated_against_the_signature(live: Live, trained: Trained) -> None:
    base = row_inputs(trained.test.head(1))

    def with_input(index: int, **change: object) -> dict[str, object]:
        inputs = [dict(i) for i in base]
        inputs[index] = {**inputs[index], **change}
        return {"inputs": inputs}

    cases = [
        ({"inputs": base[:-2]}, "missing inputs: loan_amount, loan_term_months"),
        (
            {"inputs": [*base, {"name": "agee", "shape": [1], "datatype": "FP64", "data": [1]}]},
            "unknown input 'agee' (did you mean 'age'?); the model takes: age, income, employment_years, housing, purpose, credit_history, loan_amount, loan_term_months",
        ),
        ({"inputs": [*base, base[0]]}, "input 'age' is given twice"),
        (
            with_input(0, datatype="BYTES", data=["35"]),
            "input 'age' has datatype BYTES, but the model takes FP64 (numbers)",
        ),
        (
            with_input(3, datatype="FP64", data=[1.0]),
            "input 'housing' has datatype FP64, but the model takes BYTES (strings)",
        ),
        (with_input(0, data=["35"]), "input 'age' row 0 is str '35', not a number"),
        (with_input(0, data=[True]), "input 'age' row 0 is bool True, not a number"),
        (with_input(0, data=[None]), "input 'age' row 0 is null, but the column is not nullable"),
        (with_input(3, data=[7]), "input 'housing' row 0 is int 7, not a string"),
        (with_input(0, shape=[2, 1]), "input 'age': shape [2, 1] holds 2 values, but 'data' has 1"),
        (
            with_input(0, shape=[1, 3]),
            "input 'age': shape [1, 3] does not fit the model's [-1, 1] (one value per row)",
        ),
        (
            with_input(0, shape=[-1]),
            "input 'age': 'shape' must be an array of non-negative integers",
        ),
        (with_input(0, datatype="FP128"), "input 'age': unknown datatype 'FP128'"),
        (
            with_input(0, shape=[20_000], data=[1.0] * 20_000),
            "input 'age': 20,000 rows is over this server's batch limit of 10,000",
        ),
        (
            with_input(1, shape=[2], data=[1.0, 2.0]),
            "input 'income' has 2 rows, but other inputs have 1",
        ),
        (
            {"inputs": base, "outputs": [{"name": "scores"}]},
            "unknown output 'scores'; the model gives: label, probabilities",
        ),
        ({"inputs": []}, "'inputs' must be a non-empty array of tensors"),
        ({"input": base}, "'inputs' must be a non-empty array of tensors"),
        ([1, 2], "the request body must be a JSON object with 'inputs'"),
        ({"inputs": base, "id": 7}, "'id' must be a string"),
    ]
    for body, message in cases:
        assert bad(live, body) == (400, message), message


def test_malformed_bodies_and_limits(live: Live) -> None:
    status, body = live.call("POST", "/v2/models/credit-risk/infer", raw=b'{"inputs": [')
    assert status == 400 and body["error"].startswith("the request body is not valid JSON:")
    status, body = live.call(
        "POST",
        "/v2/models/credit-risk/infer",
        raw=b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [NaN]}]}',
    )
    assert status == 400 and "not valid JSON" in body["error"]
    status, body = live.call(
        "POST",
        "/v2/models/credit-risk/infer",
        raw=b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1e999]}]}',
    )
    assert status == 400
    # A body over the limit is refused from its Content-Length, before it is read.
    connection = http.client.HTTPConnection(live.url.removeprefix("http://"), timeout=10)
    connection.putrequest("POST", "/v2/models/credit-risk/infer")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(9 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {
        "error": "the request body is 9,437,184 bytes; the limit is 8,388,608"
    }
    connection.close()
    assert live.call("GET", "/v2/models/credit-risk/infer")[0] == 405


def test_v1_predict(live: Live, trained: Trained) -> None:
    rows = trained.test.head(3)
    columns = CREDIT_INPUTS
    instances = [
        {
            c: (
                None
                if rows[c].iloc[i] != rows[c].iloc[i]
                else (
                    rows[c].iloc[i].item() if hasattr(rows[c].iloc[i], "item") else rows[c].iloc[i]
                )
            )
            for c in columns
        }
        for i in range(3)
    ]
    status, body = live.call("POST", "/v1/models/credit-risk:predict", {"instances": instances})
    assert status == 200 and len(body["predictions"]) == 3 and set(body["predictions"]) <= {0, 1}
    as_lists = [[instance[c] for c in columns] for instance in instances]
    assert live.call("POST", "/v1/models/credit-risk:predict", {"instances": as_lists})[1] == body
    assert bad(live, {"instances": [as_lists[0][:3]]}, "/v1/models/credit-risk:predict") == (
        400,
        "instances[0] has 3 values; the model takes 8: age, income, employment_years, housing, purpose, credit_history, loan_amount, loan_term_months",
    )
    assert bad(
        live, {"instances": [{**instances[0], "colour": "red"}]}, "/v1/models/credit-risk:predict"
    )[1].startswith("instances[0]: unknown input 'colour'")
    assert live.call("POST", "/v1/models/fraud:predict", {"instances": as_lists})[0] == 404


def test_metrics_for_prometheus(live: Live, trained: Trained) -> None:
    live.call("POST", "/v2/models/credit-risk/infer", {"inputs": row_inputs(trained.test.head(4))})
    status, text = live.call("GET", "/metrics")
    assert status == 200
    lines = text.splitlines()
    assert "# TYPE mlform_inference_requests_total counter" in lines
    assert any(
        line.startswith(
            'mlform_inference_requests_total{model="credit-risk",version="v0.1.0",protocol="v2",status="200"} '
        )
        for line in lines
    )
    assert any(
        line.startswith(
            'mlform_inference_request_duration_seconds_bucket{model="credit-risk",version="v0.1.0",protocol="v2",le="+Inf"} '
        )
        for line in lines
    )
    assert any(
        line.startswith('mlform_inference_rows_total{model="credit-risk",version="v0.1.0"} ')
        for line in lines
    )
    assert (
        f'mlform_model_info{{model="credit-risk",version="v0.1.0",sha256="{live.config.models[0].sha256}",deployment="credit-risk-local"}} 1'
        in lines
    )
    assert "mlform_inference_requests_in_flight 0" in lines


def read_jsonl(path: Path, wait: float = 5.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            break
        time.sleep(0.05)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_prediction_log_and_feedback(live: Live, trained: Trained) -> None:
    rows = trained.test.head(2)
    live.call(
        "POST", "/v2/models/credit-risk/infer", {"id": "logged-1", "inputs": row_inputs(rows)}
    )
    logs = Path(live.config.prediction_log.folder)
    time.sleep(0.3)
    records = [r for r in read_jsonl(logs / "predictions.jsonl") if r["request_id"] == "logged-1"]
    assert [r["row"] for r in records] == [0, 1]
    first = records[0]
    assert (first["model"], first["version"], first["protocol"], first["deployment"]) == (
        "credit-risk",
        "v0.1.0",
        "v2",
        "credit-risk-local",
    )
    assert first["inputs"]["housing"] == rows["housing"].iloc[0]
    assert (
        set(first["outputs"]) == {"label", "probabilities"}
        and len(first["outputs"]["probabilities"]) == 2
    )
    assert live.call(
        "POST",
        "/v2/models/credit-risk/feedback",
        {"feedback": [{"request_id": "logged-1", "row": 1, "label": 1}]},
    ) == (200, {"recorded": 1})
    feedback = read_jsonl(logs / "feedback.jsonl")
    assert (
        feedback[-1]["request_id"] == "logged-1"
        and feedback[-1]["row"] == 1
        and feedback[-1]["label"] == 1
    )
    assert bad(live, {"request_id": 5, "label": 1}, "/v2/models/credit-risk/feedback") == (
        400,
        "feedback[0] needs a string 'request_id' and a 'label'",
    )


def test_port_conflict_is_a_clear_error(live: Live, trained: Trained, tmp_path: Path) -> None:
    port = int(live.url.rsplit(":", 1)[1])
    with pytest.raises(
        UserError, match=f"port {port} on 127.0.0.1 is already in use by another process"
    ):
        daemon.apply(tmp_path, config_for(trained, tmp_path, port))
