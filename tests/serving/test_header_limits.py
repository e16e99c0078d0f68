"""Request heads over real sockets on 127.0.0.1: a request line and headers over the size
or count limit get a 431 and the connection is closed, well before a huge header is all
read; each request of a keep-alive or pipelined connection is measured on its own; normal
requests keep succeeding all the while."""

from __future__ import annotations

import contextlib
import json
import select
import socket
from collections.abc import Iterator

import pytest

from mlform.serving import daemon
from mlform.serving.config import Limits
from tests.serving.conftest import Live, Trained, config_for, free_port
from tests.serving.test_slow_clients import connect, infer_ok, read_to_close

CHUNK = 16 * 1024
CAP = 32 * 1024 * 1024  # what a connection may send before the test calls it unbounded
# What the server may take in before its 431: the 64 KiB limit, one parser step, and what
# the two kernels' socket buffers hold while the answer is on its way.
ACCEPTED = 1024 * 1024
LIVE = b"GET /v2/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def small(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("small-heads")
    limits = Limits(max_header_bytes=16 * 1024, max_headers=20)
    config = config_for(trained, folder, free_port(), limits=limits)
    running = daemon.apply(folder, config)
    yield Live(running.url, folder, config)
    daemon.stop(folder)


def refused(live: Live) -> int:
    """mlform_http_rejected_total{reason="headers_too_large"} now."""
    _, metrics = live.call("GET", "/metrics")
    prefix = 'mlform_http_rejected_total{reason="headers_too_large"} '
    return sum(
        int(line.removeprefix(prefix)) for line in metrics.splitlines() if line.startswith(prefix)
    )


def answer_of(data: bytes) -> tuple[bytes, object]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def padded(size: int, last: bool = False) -> bytes:
    """A health request with an ``X-Pad`` header of ``size`` bytes."""
    close = b"Connection: close\r\n" if last else b""
    return LIVE + b"X-Pad: " + b"p" * size + b"\r\n" + close + b"\r\n"


def stream_huge_headers(live: Live, trained: Trained, count: int) -> list[tuple[int, bytes]]:
    """``count`` connections each send one endless header until the server answers or stops
    them, while another client's inferences go on; (bytes sent, answer) per connection."""
    sockets = []
    for _ in range(count):
        sock = connect(live)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
        sock.sendall(LIVE + b"X-a: ")
        sock.setblocking(False)
        sockets.append(sock)
    sent = dict.fromkeys(sockets, 0)
    answers = dict.fromkeys(sockets, b"")
    open_ = set(sockets)
    chunk = b"a" * CHUNK
    while open_ and max(sent.values()) < CAP:
        readable, writable, _ = select.select(list(open_), list(open_), [], 1.0)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ConnectionResetError):
                data = b""
            answers[sock] += data
            if not data or b"}" in answers[sock]:
                open_.discard(sock)
        for sock in writable:
            if sock in open_:
                try:
                    sent[sock] += sock.send(chunk)
                except BlockingIOError:
                    pass
                except OSError:  # reset: the server closed it
                    open_.discard(sock)
        assert infer_ok(live, trained)  # normal requests go on being served
    for sock in sockets:
        if not answers[sock]:  # the reset came first: the answer may still be readable
            sock.setblocking(True)
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                answers[sock] = read_to_close(sock)
        sock.close()
    return [(sent[s], answers[s]) for s in sockets]


def test_an_endless_header_gets_a_431_early_while_requests_succeed(
    live: Live, trained: Trained
) -> None:
    before = refused(live)
    results = stream_huge_headers(live, trained, 4)
    for sent, _ in results:
        assert sent < ACCEPTED, f"the server took {sent:,} bytes of one header"
    answered = [answer for _, answer in results if answer]
    assert answered, "no connection got an answer"
    for answer in answered:
        assert answer_of(answer) == (
            b"HTTP/1.1 431 Request Header Fields Too Large",
            {"error": "the request's line and headers are over the limit of 65,536 bytes"},
        )
    assert infer_ok(live, trained)
    assert refused(live) == before + 4


def test_keep_alive_requests_are_measured_each_on_its_own(live: Live) -> None:
    with connect(live) as sock:
        for _ in range(4):  # 4 x 40 KiB on one connection, each under 64 KiB
            sock.sendall(padded(40 * 1024))
            answer = b""
            while not answer.endswith(b'{"live":true}'):
                chunk = sock.recv(65536)
                assert chunk, "the connection was closed"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_are_measured_each_on_its_own(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(padded(40 * 1024) * 3 + padded(40 * 1024, last=True))
        answers = read_to_close(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 4


def test_a_pipelined_request_over_the_limit_gets_a_431_after_the_others(live: Live) -> None:
    with connect(live) as sock:
        sock.sendall(padded(1024) * 2 + padded(70 * 1024) + padded(10))
        answers = read_to_close(sock)
    assert answers.count(b"HTTP/1.1 200 ") == 2
    last = answers.rpartition(b"HTTP/1.1 ")[2]
    assert last.startswith(b"431 ") and last.endswith(
        b'{"error":"the request\'s line and headers are over the limit of 65,536 bytes"}'
    )


def test_the_limits_are_the_configs(small: Live) -> None:
    with connect(small) as sock:
        sock.sendall(padded(17 * 1024, last=True))
        assert answer_of(read_to_close(sock)) == (
            b"HTTP/1.1 431 Request Header Fields Too Large",
            {"error": "the request's line and headers are over the limit of 16,384 bytes"},
        )
    with connect(small) as sock:
        sock.sendall(padded(15 * 1024, last=True))
        assert read_to_close(sock).startswith(b"HTTP/1.1 200 ")


def test_too_many_headers_get_a_431(small: Live) -> None:
    before = refused(small)
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(19))  # with Host: 20, the limit
    with connect(small) as sock:
        sock.sendall(LIVE + many + b"Connection: close\r\n\r\n")
        assert answer_of(read_to_close(sock)) == (
            b"HTTP/1.1 431 Request Header Fields Too Large",
            {"error": "the request has more than 20 headers"},
        )
    with connect(small) as sock:
        sock.sendall(LIVE + many + b"\r\n")
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 ")
    assert refused(small) == before + 1


def test_a_url_over_the_limit_gets_a_431(small: Live) -> None:
    with connect(small) as sock:
        sock.sendall(b"GET /" + b"u" * (20 * 1024) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _ = answer_of(read_to_close(sock))
    assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
