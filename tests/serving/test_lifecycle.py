"""Canary splits, hot swaps with no failed request, graceful shutdown, stopped servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from mlform.errors import UserError
from mlform.serving import daemon
from tests.serving.conftest import Live, Trained, config_for, free_port, row_inputs


def start(trained: Trained, folder: Path, weights: tuple[int, ...] = (100,)) -> Live:
    config = config_for(trained, folder, free_port(), weights)
    running = daemon.apply(folder, config)
    return Live(running.url, folder, config)


def test_canary_split_is_deterministic_by_request_id(trained: Trained, tmp_path: Path) -> None:
    live = start(trained, tmp_path, (90, 10))
    try:
        inputs = row_inputs(trained.test.head(1))
        chosen: dict[str, str] = {}
        for i in range(400):
            status, body = live.call(
                "POST", "/v2/models/credit-risk/infer", {"id": f"customer-{i}", "inputs": inputs}
            )
            assert status == 200
            chosen[f"customer-{i}"] = body["model_version"]
        versions = Counter(chosen.values())
        assert set(versions) == {"v0.1.0", "v0.2.0"}
        assert 20 <= versions["v0.2.0"] <= 60  # 10 % of 400, give or take
        for identifier in list(chosen)[:60]:  # the same id always lands on the same version
            body = live.call(
                "POST", "/v2/models/credit-risk/infer", {"id": identifier, "inputs": inputs}
            )[1]
            assert body["model_version"] == chosen[identifier]
        assert (
            live.call("GET", "/v2/models/credit-risk")[1]["properties"]["version"] == "v0.1.0"
        )  # the stable one
        assert (
            live.call("POST", "/v2/models/credit-risk/versions/v0.2.0/infer", {"inputs": inputs})[
                1
            ]["model_version"]
            == "v0.2.0"
        )
    finally:
        daemon.stop(tmp_path)


def test_hot_swap_fails_no_request(trained: Trained, tmp_path: Path) -> None:
    live = start(trained, tmp_path)
    inputs = row_inputs(trained.test.head(3))
    failures: list[str] = []
    seen: Counter[str] = Counter()
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                status, body = live.call("POST", "/v2/models/credit-risk/infer", {"inputs": inputs})
            except Exception as error:
                failures.append(repr(error))
                continue
            if status != 200:
                failures.append(f"{status} {body}")
            else:
                seen[body["model_version"]] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        swapped = config_for(trained, tmp_path, live.config.port, (0, 100))
        running = daemon.apply(tmp_path, swapped)
        assert [m["version"] for m in running.status["models"]] == ["v0.1.0", "v0.2.0"]
        assert running.status["generation"] == 2
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        daemon.stop(tmp_path)
    assert failures == []
    assert seen["v0.1.0"] > 0 and seen["v0.2.0"] > 0


def test_a_failed_reload_keeps_serving_the_previous_models(
    trained: Trained, tmp_path: Path
) -> None:
    live = start(trained, tmp_path)
    try:
        config = json.loads((tmp_path / "config.json").read_text())
        config["models"][0]["path"] = str(tmp_path / "missing.onnx")
        (tmp_path / "config.json").write_text(json.dumps(config))
        record = json.loads((tmp_path / "server.json").read_text())
        os.kill(record["pid"], signal.SIGHUP)
        time.sleep(1.0)
        status, body = live.call(
            "POST", "/v2/models/credit-risk/infer", {"inputs": row_inputs(trained.test.head(1))}
        )
        assert status == 200 and body["model_version"] == "v0.1.0"
        assert "reload failed" in (tmp_path / "server.log").read_text()
    finally:
        daemon.stop(tmp_path)


def test_graceful_shutdown_finishes_requests_in_flight(trained: Trained, tmp_path: Path) -> None:
    live = start(trained, tmp_path)
    body = json.dumps({"inputs": row_inputs(trained.test.head(5))}).encode()
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        head = f"POST /v2/models/credit-risk/infer HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        connection.sendall(head.encode() + body[:100])  # the request is now in flight
        time.sleep(0.3)
        pid = json.loads((tmp_path / "server.json").read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)
        connection.sendall(body[100:])
        response = b""
        while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            response += chunk
    assert response.startswith(b"HTTP/1.1 200 OK")
    assert b'"model_version":"v0.1.0"' in response
    deadline = time.monotonic() + 10
    while daemon.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not daemon.alive(pid)
    assert daemon.status(tmp_path) is None


def test_stop_and_status(trained: Trained, tmp_path: Path) -> None:
    live = start(trained, tmp_path)
    running = daemon.status(tmp_path)
    assert (
        running is not None
        and running.url == live.url
        and running.status["deployment"] == "credit-risk-local"
    )
    assert daemon.stop(tmp_path) is True
    assert daemon.status(tmp_path) is None
    assert daemon.stop(tmp_path) is False


def test_an_onnx_file_changed_since_it_was_registered_is_not_served(
    trained: Trained, tmp_path: Path
) -> None:
    """The config names each version's sha256 (from the registry record): a model file
    swapped in the store is refused at start, and on reload the previous models stay."""
    tampered = tmp_path / "tampered.onnx"
    tampered.write_bytes(trained.onnx.read_bytes() + b"\0")
    config = config_for(trained, tmp_path, free_port())
    bad = replace(config, models=(replace(config.models[0], path=str(tampered)),))
    with pytest.raises(UserError) as raised:
        daemon.apply(tmp_path / "first", bad)
    assert f"{tampered} has sha256 " in raised.value.message
    assert "as registered for credit-risk@v0.1.0; it is not served" in raised.value.message

    live = start(trained, tmp_path / "second")
    try:
        (tmp_path / "second" / "config.json").write_text(bad.to_json())
        record = json.loads((tmp_path / "second" / "server.json").read_text())
        os.kill(record["pid"], signal.SIGHUP)
        time.sleep(1.0)
        status, body = live.call(
            "POST", "/v2/models/credit-risk/infer", {"inputs": row_inputs(trained.test.head(1))}
        )
        assert status == 200 and body["model_version"] == "v0.1.0"
        assert "it is not served" in (tmp_path / "second" / "server.log").read_text()
    finally:
        daemon.stop(tmp_path / "second")
