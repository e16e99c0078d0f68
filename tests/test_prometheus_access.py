"""The reconciler host talks to the Prometheus a spec names only over http(s), follows no
redirect, and only to hosts its operator allows (or the URL the operator pins)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from mlform.engines.prometheus import Prometheus
from mlform.errors import UserError


class Handler(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        Handler.hits.append(f"POST {self.path}")
        if self.path == "/redirect/-/reload":
            self.send_response(307)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        Handler.hits.append(f"GET {self.path}")
        self.send_response(302)
        self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/elsewhere")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/", "gopher://x", "http://"])
def test_only_http_urls_are_contacted(url: str) -> None:
    with pytest.raises(UserError) as raised:
        Prometheus.of(url, environ={})
    assert raised.value.message == (
        f"Project.spec.monitoring.prometheus_url must be an http(s) URL with a host, not {url!r}"
    )


def test_the_operator_limits_the_hosts(server: str) -> None:
    environ = {"MLFORM_PROMETHEUS_HOSTS": "prometheus.internal:9090, localhost"}
    with pytest.raises(UserError) as raised:
        Prometheus.of(server, environ=environ)
    assert raised.value.message == (
        f"Prometheus at {server} is not among the hosts this machine may contact"
        " ($MLFORM_PROMETHEUS_HOSTS=prometheus.internal:9090, localhost)"
    )
    assert Handler.hits == []
    port = server.rsplit(":", 1)[1]
    allowed = Prometheus.of(server, environ={"MLFORM_PROMETHEUS_HOSTS": f"127.0.0.1:{port}"})
    assert allowed is not None and allowed.reload().startswith("Prometheus reloaded its rules")
    assert Prometheus.of(server, environ={"MLFORM_PROMETHEUS_HOSTS": "127.0.0.1"}) is not None


def test_the_operator_pins_the_url(server: str) -> None:
    pinned = Prometheus.of(
        "http://attacker.example:9090", environ={"MLFORM_PROMETHEUS_URL": server}
    )
    assert pinned == Prometheus(server)
    pinned.reload()
    assert Handler.hits == ["POST /-/reload"]


def test_redirects_are_not_followed(server: str, tmp_path: Path) -> None:
    prometheus = Prometheus(f"{server}/redirect")
    with pytest.raises(UserError) as raised:
        prometheus.reload()
    assert raised.value.message == (
        f"Prometheus refused to reload its rules: POST {server}/redirect/-/reload: HTTP 307"
    )
    assert Prometheus(server).alerts() == []  # a 302 to another path is not followed
    assert Handler.hits == ["POST /redirect/-/reload", "GET /api/v1/alerts"]
