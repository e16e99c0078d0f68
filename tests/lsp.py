"""A small Language Server Protocol client over stdio, for tests that drive a real server.

Messages are JSON-RPC framed by a ``Content-Length`` header. A reader thread files responses
by id and notifications in arrival order; requests from the server (workspace/configuration,
client/registerCapability, ...) are answered at once. Every wait has a timeout, and
``close`` shuts the server down cleanly (shutdown, exit), killing it only if it hangs.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from collections.abc import Callable
from typing import Any

TIMEOUT = 30.0


class LanguageServer:
    def __init__(self, command: list[str], configuration: Callable[[dict[str, Any]], Any]) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close()); the server's stderr, never a full pipe
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log
        )
        self._configuration = configuration
        self._lock = threading.Condition()
        self._responses: dict[int, dict[str, Any]] = {}
        self._notifications: list[dict[str, Any]] = []
        self._next_id = 0
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- wire ---------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self._process.stdin is not None
        with self._write_lock:
            self._process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._process.stdin.flush()

    def _read(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    with self._lock:
                        self._lock.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None, "a message without Content-Length"
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:
                self._answer(message)
            with self._lock:
                if "method" in message:
                    self._notifications.append(message)
                elif "id" in message:
                    self._responses[message["id"]] = message
                self._lock.notify_all()

    def _answer(self, request: dict[str, Any]) -> None:
        result: Any = None
        if request["method"] == "workspace/configuration":
            result = [self._configuration(item) for item in request["params"]["items"]]
        self._send({"id": request["id"], "result": result})

    def _wait(self, found: Callable[[], Any], what: str, timeout: float) -> Any:
        with self._lock:
            if not self._lock.wait_for(
                lambda: found() is not None or self._process.poll() is not None, timeout
            ):
                raise AssertionError(f"no {what} within {timeout:.0f} s: {self.stderr()}")
            value = found()
            if value is None:
                raise AssertionError(f"the server exited before {what}: {self.stderr()}")
            return value

    # -- protocol -----------------------------------------------------------------------
    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        self._next_id += 1
        number = self._next_id
        self._send({"id": number, "method": method, "params": params})
        response = self._wait(lambda: self._responses.get(number), f"answer to {method}", timeout)
        assert "error" not in response, response["error"]
        return response.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def notification(
        self, method: str, match: Callable[[Any], bool], timeout: float = TIMEOUT
    ) -> Any:
        """The params of the first ``method`` notification whose params ``match``."""

        def found() -> Any:
            for message in self._notifications:
                if message["method"] == method and match(message.get("params")):
                    return message.get("params")
            return None

        return self._wait(found, method, timeout)

    def stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            if self._process.poll() is None:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
                self._process.wait(timeout=10)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=10)
        finally:
            for stream in (self._process.stdin, self._process.stdout, self._log):
                if stream is not None:
                    stream.close()
