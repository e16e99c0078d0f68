"""Slow clients over real sockets on 127.0.0.1: connections that dribble headers or bodies,
or never speak, are closed; connections over the limit are refused; normal requests keep
succeeding all the while."""

from __future__ import annotations

import contextlib
import json
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlform.serving import daemon
from mlform.serving.config import Limits
from tests.serving.conftest import Live, Trained, config_for, free_port, row_inputs

LIMITS = Limits(header_timeout_seconds=1.0, body_timeout_seconds=1.0)
DEADLINE = 60.0  # only so a regression fails instead of hanging


@pytest.fixture(scope="module")
def slow(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("slow")
    config = config_for(trained, folder, free_port(), limits=LIMITS)
    running = daemon.apply(folder, config)
    yield Live(running.url, folder, config)
    daemon.stop(folder)


def connect(live: Live) -> socket.socket:
    host, port = live.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_to_close(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def read_one_response(sock: socket.socket) -> bytes:
    """One HTTP response with a Content-Length: its headers and whole body (the server may
    send them in separate segments)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or b""
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def infer_ok(live: Live, trained: Trained) -> bool:
    try:
        status, _ = live.call(
            "POST", "/v2/models/credit-risk/infer", {"inputs": row_inputs(trained.test.head(1))}
        )
    except OSError:  # refused over the limit, before the request was read
        return False
    return status == 200


def test_dribbled_headers_are_closed_while_requests_succeed(slow: Live, trained: Trained) -> None:
    sockets = [connect(slow) for _ in range(300)]
    for sock in sockets:
        sock.setblocking(False)
        sock.send(b"POST /v2/models/credit-risk/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    answers: dict[socket.socket, bytes] = {sock: b"" for sock in sockets}
    closed: set[socket.socket] = set()
    served = 0
    deadline = time.monotonic() + DEADLINE
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        for sock in sockets:  # one more header line each, as slowloris does
            if sock not in closed:
                with contextlib.suppress(OSError):
                    sock.send(b"X-Slow: 1\r\n")
        assert infer_ok(slow, trained)  # normal requests go on being served
        served += 1
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            answers[sock] += data
            if not data:  # closed by the server, its answer whole
                selector.unregister(sock)
                closed.add(sock)
    selector.close()
    for sock in sockets:
        sock.close()
    assert len(closed) == 300, "slow connections were left open"
    first = next(iter(answers.values()))
    head, _, body = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == {"error": "the request's headers did not arrive within 1 s"}
    assert served > 0
    _, metrics = slow.call("GET", "/metrics")
    assert 'mlform_http_rejected_total{reason="header_timeout"} 300' in metrics


def test_a_silent_connection_is_closed(slow: Live) -> None:
    with connect(slow) as sock:
        assert read_to_close(sock) == b""  # closed without a word: it asked nothing


def test_a_slow_second_request_on_a_kept_alive_connection_is_closed(
    slow: Live,
) -> None:
    with connect(slow) as sock:
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = read_one_response(sock)
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b'{"live":true}')
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\n")
        for _ in range(3):  # dribbling keeps uvicorn's keep-alive timer from firing
            time.sleep(0.5)
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        assert read_to_close(sock).startswith(b"HTTP/1.1 408 ")


def test_a_dribbled_body_gets_a_408(slow: Live) -> None:
    with connect(slow) as sock:
        sock.sendall(
            b"POST /v2/models/credit-risk/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs": '
        )
        head, _, body = read_to_close(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head
    assert json.loads(body) == {"error": "the request body did not arrive within 1 s"}


def test_a_body_after_an_early_answer_is_not_read_for_ever(slow: Live) -> None:
    with connect(slow) as sock:
        sock.sendall(
            b"POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n{"
        )
        sock.settimeout(0.3)
        answer, closed = b"", False
        for _ in range(40):  # a byte of body now and then: before, the answered request
            try:  # was read on for ever, as each byte put off the keep-alive timeout
                sock.sendall(b" ")
                while chunk := sock.recv(65536):
                    answer += chunk
                closed = True
                break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
    assert closed
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ")
    assert json.loads(body) == {"error": "no route for POST /nowhere"}


def test_pipelined_requests_are_all_answered(slow: Live) -> None:
    live_request = b"GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(slow) as sock:
        sock.sendall(live_request + live_request[:20])  # the next one's start with the first
        time.sleep(0.3)
        sock.sendall(live_request[20:-2] + b"Connection: close\r\n\r\n")
        answers = read_to_close(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 2 and answers.endswith(b'{"live":true}')


def test_connections_over_the_limit_get_a_503(trained: Trained, tmp_path: Path) -> None:
    limits = Limits(header_timeout_seconds=30.0, max_connections=20)
    config = config_for(trained, tmp_path, free_port(), limits=limits)
    live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    held = [connect(live) for _ in range(20)]
    try:
        time.sleep(0.3)
        with connect(live) as extra:
            head, _, body = read_to_close(extra).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ")
        assert json.loads(body) == {
            "error": "the server is at its limit of 20 connections; try again"
        }
    finally:
        for sock in held:
            sock.close()
    try:
        deadline = time.monotonic() + DEADLINE
        while not infer_ok(live, trained) and time.monotonic() < deadline:
            time.sleep(0.1)  # the held connections' slots free as the server sees them close
        assert infer_ok(live, trained)
    finally:
        daemon.stop(tmp_path)
