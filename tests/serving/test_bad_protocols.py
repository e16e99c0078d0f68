"""Malformed binary tensor data and gRPC requests: each a clear error (HTTP 400/413/415,
gRPC INVALID_ARGUMENT/NOT_FOUND/RESOURCE_EXHAUSTED) with an exact message, never a 500."""

from __future__ import annotations

import json
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest

from mlform.serving.config import Limits
from mlform.serving.oip import inference_pb2 as pb
from tests.serving.conftest import Trained
from tests.serving.test_tritonclient import MODEL, NUMERIC, Both, inputs_for, serve

grpcclient = pytest.importorskip("tritonclient.grpc")
from tritonclient.utils import InferenceServerException  # noqa: E402

INFER = "/v2/models/credit-risk/infer"
ROW = {
    "age": 35.0,
    "income": 52000.0,
    "employment_years": 4.0,
    "housing": "own",
    "purpose": "car",
    "credit_history": "good",
    "loan_amount": 12000.0,
    "loan_term_months": 36.0,
}


@pytest.fixture(scope="module")
def both(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    from mlform.serving import daemon

    folder = tmp_path_factory.mktemp("bad-protocols")
    served = serve(trained, folder, (100,), Limits(max_body_bytes=256 * 1024, max_batch=1000))
    yield served
    served.grpc.close()
    daemon.stop(folder)


def element(value: Any) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return struct.pack("<I", len(raw)) + raw
    return struct.pack("<d", value)


def binary_request(
    change: dict[str, dict[str, Any]] | None = None, blobs: dict[str, bytes] | None = None
) -> tuple[dict[str, Any], bytes]:
    """One row, every input as binary data: its JSON header and its bytes; ``change``
    updates an input's header, ``blobs`` replaces its bytes."""
    inputs, data = [], b""
    for name, value in ROW.items():
        blob = (blobs or {}).get(name, element(value))
        item = {
            "name": name,
            "shape": [1, 1],
            "datatype": "BYTES" if isinstance(value, str) else "FP64",
            "parameters": {"binary_data_size": len(blob)},
            **(change or {}).get(name, {}),
        }
        inputs.append(item)
        data += blob
    return {"inputs": inputs}, data


def post(
    both: Both, header: bytes, data: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    sent = {  # urllib would send a form's type without one
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
        **(headers or {}),
    }
    request = urllib.request.Request(
        both.live.url + INFER, data=header + data, method="POST", headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def refused(both: Both, body: dict[str, Any], data: bytes, **headers: str) -> tuple[int, str]:
    status, _, payload = post(both, json.dumps(body).encode(), data, headers)
    return status, json.loads(payload)["error"]


def test_a_binary_request_with_binary_outputs(both: Both) -> None:
    body, data = binary_request()
    body["outputs"] = [
        {"name": "label", "parameters": {"binary_data": True}},
        {"name": "probabilities"},
    ]
    header = json.dumps(body).encode()
    status, headers, payload = post(
        both, header, data, {"Content-Type": "application/octet-stream"}
    )
    assert status == 200
    assert headers["content-type"] == "application/octet-stream"
    length = int(headers["inference-header-content-length"])
    answer = json.loads(payload[:length])
    label, probabilities = answer["outputs"]
    assert label == {
        "name": "label",
        "datatype": "INT64",
        "shape": [1],
        "parameters": {"binary_data_size": 8},
    }
    assert len(payload) == length + 8
    assert np.frombuffer(payload[length:], "<i8").tolist() in ([0], [1])
    assert len(probabilities["data"]) == 2  # asked for without binary_data: JSON


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            {
                "change": {"age": {"parameters": {"binary_data_size": 4}}},
                "blobs": {"age": b"\0" * 4},
            },
            "input 'age': shape [1, 1] of FP64 takes 8 bytes, but binary_data_size is 4",
        ),
        (
            {"change": {"age": {"parameters": {"binary_data_size": -1}}}},
            "input 'age': binary_data_size must be a non-negative integer; got -1",
        ),
        (
            {"change": {"age": {"parameters": {"binary_data_size": 2**62}}}},
            "input 'age': binary_data_size is 4,611,686,018,427,387,904 bytes, but only 62 "
            "bytes of binary data are left in the request body",
        ),
        (
            {"change": {"age": {"parameters": {"binary_data_size": True}}}},
            "input 'age': binary_data_size must be a non-negative integer; got True",
        ),
        (
            {"blobs": {"housing": struct.pack("<I", 1000) + b"own"}},
            "input 'housing': element 0 says it is 1,000 bytes, but only 3 bytes are left",
        ),
        (
            {"blobs": {"housing": b"\x03\0"}},
            "input 'housing': binary_data_size is 2 bytes, which end before the length of "
            "element 0 (of 1)",
        ),
        (
            {"blobs": {"housing": element("own") + b"xx"}},
            "input 'housing': binary_data_size is 9 bytes, but its 1 elements take 7",
        ),
        (
            {"blobs": {"housing": struct.pack("<I", 2) + b"\xff\xfe"}},
            "input 'housing' row 0 is not valid UTF-8",
        ),
        (
            {"change": {"age": {"data": [35.0]}}},
            "input 'age' has both 'data' and binary_data_size: give one",
        ),
        (
            {"change": {"age": {"shape": [1001, 1]}}},
            "input 'age': 1,001 rows is over this server's batch limit of 1,000",
        ),
        (
            {"change": {"age": {"datatype": "FP32"}}},
            "input 'age': shape [1, 1] of FP32 takes 4 bytes, but binary_data_size is 8",
        ),
        (
            {"blobs": {"age": struct.pack("<d", float("inf"))}},
            "input 'age' holds a number too large to be finite",
        ),
    ],
)
def test_malformed_binary_data_is_a_clear_400(
    both: Both, case: dict[str, Any], message: str
) -> None:
    body, data = binary_request(case.get("change"), case.get("blobs"))
    assert refused(both, body, data) == (400, message)


def test_malformed_binary_framing(both: Both) -> None:
    body, data = binary_request()
    header = json.dumps(body).encode()
    status, _, payload = post(both, header, data, {"Inference-Header-Content-Length": "99999"})
    assert (status, json.loads(payload)["error"]) == (
        400,
        "the Inference-Header-Content-Length header says the JSON inference header is 99,999 "
        f"bytes, but the request body has only {len(header) + len(data):,}",
    )
    status, _, payload = post(both, header, data, {"Inference-Header-Content-Length": "-5"})
    assert json.loads(payload)["error"] == (
        "the Inference-Header-Content-Length header must be a number of bytes; got '-5'"
    )
    status, _, payload = post(both, b'{"in', data)
    assert status == 400
    assert json.loads(payload)["error"].startswith(
        "the inference header (the body's first 4 bytes, as Inference-Header-Content-Length "
        "says) is not valid JSON: "
    )
    assert refused(both, body, data + b"abc") == (
        400,
        "the request body has 3 bytes of binary data beyond what the inputs' binary_data_size "
        "add up to (62)",
    )


def test_binary_data_needs_the_header_and_the_header_a_binary_type(both: Both) -> None:
    body, data = binary_request()
    status, payload = both.live.call("POST", INFER, body)  # JSON without binary data
    assert (status, payload["error"]) == (
        400,
        "input 'age' has binary_data_size, but the request has no "
        "Inference-Header-Content-Length header: its binary data cannot be found",
    )
    status, payload = both.live.call(
        "POST", INFER, raw=b"{}", headers={"Content-Type": "application/octet-stream"}
    )
    assert (status, payload["error"]) == (
        415,
        "the request body must be JSON sent as Content-Type: application/json; got "
        "'application/octet-stream' (binary tensor data needs the "
        "Inference-Header-Content-Length header)",
    )
    assert refused(both, body, data, **{"Content-Type": "text/plain"}) == (
        415,
        "a request with binary tensor data (Inference-Header-Content-Length) must be sent "
        "as Content-Type: application/octet-stream; got 'text/plain'",
    )
    big = b"\0" * (300 * 1024)
    status, _, payload = post(both, b"{}", big)
    assert (status, json.loads(payload)["error"]) == (
        413,
        f"the request body is {len(big) + 2:,} bytes; the limit is 262,144",
    )


# --- gRPC ---------------------------------------------------------------------------------
def grpc_error(call: Any) -> tuple[str, str]:
    with pytest.raises(InferenceServerException) as raised:
        call()
    return raised.value.status(), raised.value.message()


def test_bad_grpc_requests_from_tritonclient(both: Both, trained: Trained) -> None:
    frame = trained.test.head(2)
    inputs = inputs_for(grpcclient, frame)
    assert grpc_error(lambda: both.grpc.infer(MODEL, inputs[:-1])) == (
        "StatusCode.INVALID_ARGUMENT",
        "missing input: loan_term_months",
    )
    wrong = grpcclient.InferInput("age", [2, 1], "BYTES")
    wrong.set_data_from_numpy(np.asarray([["35"], ["40"]], dtype=object))
    assert grpc_error(lambda: both.grpc.infer(MODEL, [wrong, *inputs[1:]])) == (
        "StatusCode.INVALID_ARGUMENT",
        "input 'age' has datatype BYTES, but the model takes FP64 (numbers)",
    )
    assert grpc_error(lambda: both.grpc.infer("nope", inputs)) == (
        "StatusCode.NOT_FOUND",
        "unknown model 'nope'; served: credit-risk",
    )
    assert grpc_error(lambda: both.grpc.infer(MODEL, inputs, model_version="9")) == (
        "StatusCode.NOT_FOUND",
        "model 'credit-risk' has no version '9'; served: v0.1.0",
    )
    many = inputs_for(grpcclient, trained.test.sample(1001, replace=True, random_state=0))
    assert grpc_error(lambda: both.grpc.infer(MODEL, many)) == (
        "StatusCode.INVALID_ARGUMENT",
        "input 'age': 1,001 rows is over this server's batch limit of 1,000",
    )
    huge = grpcclient.InferInput("age", [40_000, 1], "FP64")
    huge.set_data_from_numpy(np.zeros((40_000, 1)))
    status, message = grpc_error(lambda: both.grpc.infer(MODEL, [huge, *inputs[1:]]))
    assert status == "StatusCode.RESOURCE_EXHAUSTED"
    assert "larger than max" in message and "262144" in message
    assert both.grpc.is_server_live()  # none of that hurt the server


def raw_call(both: Both, request: Any) -> tuple[grpc.StatusCode, str] | Any:
    """ModelInfer with mlform's own messages (what tritonclient cannot be made to send)."""
    with grpc.insecure_channel(both.grpc_target) as channel:
        infer = channel.unary_unary(
            "/inference.GRPCInferenceService/ModelInfer",
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        try:
            return infer(request, timeout=30)
        except grpc.RpcError as error:
            return error.code(), error.details()


def typed(rows: list[dict[str, Any]], **change: Any) -> Any:
    request = pb.ModelInferRequest(model_name=MODEL, id="typed-1")
    for name in ROW:
        tensor = request.inputs.add(name=name, shape=[len(rows), 1])
        if name in NUMERIC:
            tensor.datatype = "FP64"
            tensor.contents.fp64_contents.extend(r[name] for r in rows)
        else:
            tensor.datatype = "BYTES"
            tensor.contents.bytes_contents.extend(r[name].encode() for r in rows)
    for name, fields in change.items():
        tensor = next(t for t in request.inputs if t.name == name)
        for key, value in fields.items():
            if key == "fp64_contents":
                del tensor.contents.fp64_contents[:]
                tensor.contents.fp64_contents.extend(value)
            elif key == "shape":
                del tensor.shape[:]
                tensor.shape.extend(value)
            else:
                setattr(tensor, key, value)
    return request


def test_typed_contents_answer_as_json_does(both: Both) -> None:
    rows = [ROW, {**ROW, "age": 61.0, "housing": "rent"}]
    answer = raw_call(both, typed(rows))
    status, body = both.live.call(
        "POST",
        INFER,
        {
            "inputs": [
                {
                    "name": n,
                    "shape": [2, 1],
                    "datatype": "FP64" if n in NUMERIC else "BYTES",
                    "data": [r[n] for r in rows],
                }
                for n in ROW
            ]
        },
    )
    assert status == 200
    assert (answer.model_name, answer.model_version, answer.id) == (MODEL, "v0.1.0", "typed-1")
    assert [o.name for o in answer.outputs] == ["label", "probabilities"]
    assert list(answer.outputs[1].shape) == [2, 2]
    assert (
        np.frombuffer(answer.raw_output_contents[0], "<i8").tolist() == body["outputs"][0]["data"]
    )
    assert np.allclose(
        np.frombuffer(answer.raw_output_contents[1], "<f4"), body["outputs"][1]["data"]
    )


def test_bad_typed_and_raw_contents(both: Both) -> None:
    assert raw_call(both, typed([ROW], age={"fp64_contents": [1.0, 2.0]})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'age': shape [1, 1] holds 1 values, but 'contents' has 2",
    )
    assert raw_call(both, typed([ROW], age={"datatype": "FP16"})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'age': FP16 data must be sent in raw_input_contents",
    )
    assert raw_call(both, typed([ROW], age={"shape": [-1, 1]})) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'age': 'shape' must be an array of non-negative integers",
    )
    request = typed([ROW])
    request.raw_input_contents.extend([struct.pack("<d", 1.0)] * 7)
    assert raw_call(both, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "raw_input_contents has 7 entries, but the request has 8 inputs: give one per "
        "input, in their order",
    )
    request = pb.ModelInferRequest(model_name=MODEL)
    for name, value in ROW.items():
        request.inputs.add(
            name=name, shape=[1], datatype="BYTES" if isinstance(value, str) else "FP64"
        )
        request.raw_input_contents.append(element(value)[:4] if name == "age" else element(value))
    assert raw_call(both, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input 'age': shape [1] of FP64 takes 8 bytes, but raw_input_contents[0] holds 4",
    )
    assert raw_call(both, pb.ModelInferRequest(model_name=MODEL)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "the request has no inputs",
    )
    request = typed([ROW])
    request.id = "bad\nid"
    assert raw_call(both, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "'id' must be at most 256 printable ASCII characters; got 'bad\\nid'",
    )


def test_the_grpc_port_in_the_serve_config() -> None:
    import json as json_module

    from mlform.serving.config import ServeConfig

    with_grpc = ServeConfig("credit-risk-local", port=8085, grpc_port=8086)
    assert ServeConfig.from_dict(json_module.loads(with_grpc.to_json())) == with_grpc
    without = ServeConfig("credit-risk-local", port=8085)
    assert "grpc_port" not in without.to_json()  # configs without gRPC keep their digest
    assert ServeConfig.from_dict(json_module.loads(without.to_json())) == without
