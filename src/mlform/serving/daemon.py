"""Local servers in the background: started, health-checked, hot-swapped and stopped by
mlform. Per deployment, ``.mlform/serve/<deployment>/`` holds ``config.json`` (what to
serve), ``server.json`` (pid, host, port, started) and ``server.log``."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.engines.process import alive, spawn
from mlform.errors import UserError
from mlform.fsutil import write_atomic
from mlform.serving.config import ServeConfig

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Running:
    pid: int
    host: str
    port: int
    status: dict[str, Any]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _get(url: str, timeout: float = 2.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def status(folder: Path) -> Running | None:
    """The running server of this deployment, or None (stale records are removed)."""
    record_file = folder / "server.json"
    try:
        record = json.loads(record_file.read_text())
    except (OSError, ValueError):
        return None
    if not alive(int(record["pid"])):
        record_file.unlink(missing_ok=True)
        return None
    code, body = _get(f"http://{record['host']}:{record['port']}/mlform/status")
    return Running(
        int(record["pid"]), record["host"], int(record["port"]), body if code == 200 else {}
    )


def apply(
    folder: Path, config: ServeConfig, checkpoint: Callable[[], None] | None = None
) -> Running:
    """Serve ``config``: hot-swap a running server, or start one; wait until it serves it."""
    folder.mkdir(parents=True, exist_ok=True)
    running = status(folder)
    if running is not None and (running.host, running.port) != (config.host, config.port):
        stop(folder)
        running = None
    write_atomic(folder / "config.json", config.to_json().encode())
    if checkpoint is not None:
        checkpoint()
    if running is not None:
        if running.status.get("config") != config.digest:
            os.kill(running.pid, signal.SIGHUP)
        return _wait_for(folder, config, running.pid)
    return start(folder, config)


def start(folder: Path, config: ServeConfig) -> Running:
    from mlform.serving.run import port_problem

    problem = port_problem(config.host, config.port)
    if problem:
        raise UserError(
            problem, hint="Change the Deployment's spec.local.port, or stop what uses it."
        )
    log = folder / "server.log"
    with log.open("ab") as handle:
        pid = spawn(
            ["-m", "mlform", "serve", "--config", str(folder / "config.json")],
            cwd=folder,
            log=handle,
        )
    record = {
        "pid": pid,
        "host": config.host,
        "port": config.port,
        "started": time.time(),
        "log": str(log),
    }
    write_atomic(folder / "server.json", json.dumps(record, indent=2).encode())
    return _wait_for(folder, config, pid)


def _wait_for(folder: Path, config: ServeConfig, pid: int) -> Running:
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://{config.host}:{config.port}"
    while time.monotonic() < deadline:
        if not alive(pid):
            tail = _tail(folder / "server.log")
            (folder / "server.json").unlink(missing_ok=True)
            raise UserError(f"the server of '{config.deployment}' exited while starting:\n{tail}")
        code, body = _get(f"{url}/mlform/status")
        if code == 200 and body.get("config") == config.digest:
            ready, _ = _get(f"{url}/v2/health/ready")
            if ready == 200:
                return Running(pid, config.host, config.port, body)
        time.sleep(0.1)
    raise UserError(
        f"the server of '{config.deployment}' did not serve the new config within {START_TIMEOUT:g} s; see {folder / 'server.log'}"
    )


def stop(folder: Path) -> bool:
    """Stop gracefully (SIGTERM: in-flight requests finish), SIGKILL after a timeout."""
    running = status(folder)
    if running is None:
        return False
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while alive(running.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(running.pid):
        os.kill(running.pid, signal.SIGKILL)
    (folder / "server.json").unlink(missing_ok=True)
    return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
