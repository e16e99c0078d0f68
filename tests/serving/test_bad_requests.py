"""What attackers sent the server: ids that would split a header, bodies that are not JSON,
bytes that are not HTTP. Each gets a JSON error; none a traceback in the log."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from tests.conftest import CREDIT_INPUTS
from tests.serving.conftest import Live, Trained, row_inputs

COLUMNS = CREDIT_INPUTS
CRLF_ID = "a\r\nInjected: yes"
ID_MESSAGE = "must be at most 256 printable ASCII characters; got 'a\\r\\nInjected: yes'"


def exchange(live: Live, raw: bytes, timeout: float = 10.0) -> bytes:
    """Send ``raw`` on a fresh connection and read until the server closes it."""
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parsed(response: bytes) -> tuple[int, dict[str, str], object]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, json.loads(body)


def server_log(live: Live) -> str:
    return (live.folder / "server.log").read_text()


def v1_instance(trained: Trained) -> dict[str, object]:
    row = trained.test.iloc[0]
    return {
        c: (None if row[c] != row[c] else (row[c].item() if hasattr(row[c], "item") else row[c]))
        for c in COLUMNS
    }


def test_a_request_id_with_crlf_is_refused_not_echoed(live: Live, trained: Trained) -> None:
    instances = [v1_instance(trained)]
    # V1 echoed the body's id in X-Request-Id: uvicorn raised, the client got no response.
    assert live.call(
        "POST", "/v1/models/credit-risk:predict", {"id": CRLF_ID, "instances": instances}
    ) == (400, {"error": f"'id' {ID_MESSAGE}"})
    inputs = row_inputs(trained.test.head(1))
    assert live.call("POST", "/v2/models/credit-risk/infer", {"id": CRLF_ID, "inputs": inputs}) == (
        400,
        {"error": f"'id' {ID_MESSAGE}"},
    )
    assert live.call(
        "POST",
        "/v2/models/credit-risk/feedback",
        {"request_id": CRLF_ID, "label": 1},
    ) == (400, {"error": f"feedback[0]: 'request_id' {ID_MESSAGE}"})
    # A header id that is not ASCII (httptools passes obs-text bytes on).
    body = json.dumps({"inputs": inputs}).encode()
    status, _, error = parsed(
        exchange(
            live,
            b"POST /v2/models/credit-risk/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Request-Id: caf\xe9\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
        )
    )
    assert (status, error) == (
        400,
        {
            "error": "the X-Request-Id header must be at most 256 printable ASCII characters; got 'café'"
        },
    )
    assert (
        live.call("POST", "/v2/models/credit-risk/infer", {"id": "x" * 257, "inputs": inputs})[0]
        == 400
    )
    # A good id is still echoed.
    status, headers, _ = parsed(
        exchange(
            live,
            b"POST /v1/models/credit-risk:predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(b := json.dumps({"id": "ok-1", "instances": instances}).encode()), b),
        )
    )
    assert (status, headers["x-request-id"]) == (200, "ok-1")
    assert "Traceback" not in server_log(live) and "Exception in ASGI" not in server_log(live)


def test_bodies_must_be_sent_as_json(live: Live, trained: Trained) -> None:
    body = {"inputs": row_inputs(trained.test.head(1))}
    for path in ("/v2/models/credit-risk/infer", "/v2/models/credit-risk/feedback"):
        assert live.call("POST", path, body, headers={"Content-Type": "text/plain"}) == (
            415,
            {
                "error": "the request body must be JSON sent as Content-Type: application/json; got 'text/plain'"
            },
        )
    # urllib's default for a body, what a browser form sends across sites
    assert (
        live.call(
            "POST",
            "/v1/models/credit-risk:predict",
            {"instances": [{"age": 1.0}]},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )[0]
        == 415
    )
    raw = json.dumps(body).encode()
    status, _, error = parsed(
        exchange(
            live,
            b"POST /v2/models/credit-risk/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw),
        )
    )
    assert (status, error) == (
        415,
        {
            "error": "the request body must be JSON sent as Content-Type: application/json; got no Content-Type"
        },
    )
    assert (
        live.call(
            "POST",
            "/v2/models/credit-risk/infer",
            body,
            headers={"Content-Type": "Application/JSON; charset=utf-8"},
        )[0]
        == 200
    )


def test_what_is_not_http_gets_a_json_400(live: Live) -> None:
    for garbage in (
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on the plain port
        b"GET /v2/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        status, headers, error = parsed(exchange(live, garbage))
        assert (status, headers["content-type"], error) == (
            400,
            "application/json",
            {"error": "the request is not valid HTTP/1.1"},
        )
    # An upgrade is answered as plain HTTP.
    status, _, error = parsed(
        exchange(
            live,
            b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n"
            b"Upgrade: websocket\r\n\r\n",
        )
    )
    assert (status, error) == (200, {"live": True})
    time.sleep(0.2)
    log = server_log(live)
    assert "Invalid HTTP request received" not in log and "Unsupported upgrade" not in log
    assert "Traceback" not in log
    _, metrics = live.call("GET", "/metrics")
    assert 'mlform_http_rejected_total{reason="invalid_http"} 4' in metrics


def test_the_server_log_is_owner_only(live: Live) -> None:
    assert (Path(live.folder) / "server.log").stat().st_mode & 0o777 == 0o600
