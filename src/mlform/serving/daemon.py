"""Local servers in the background: started, health-checked, hot-swapped and stopped by
mlform. Per deployment, ``.mlform/serve/<deployment>/`` holds ``config.json`` (what to
serve), ``server.json`` (pid, host, port, started, the token file if any) and
``server.log``, owner-only.

mlform's own requests to the server (status, the hot swap's wait) send the token: the
``--token-file`` given now, else ``MLFORM_SERVER_TOKEN``, else the token file the server
was started with (recorded in ``server.json``)."""

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
from typing import Any, BinaryIO

from mlform.engines.process import alive, spawn
from mlform.errors import UserError
from mlform.fsutil import write_atomic
from mlform.serving import auth
from mlform.serving.config import ServeConfig

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Running:
    pid: int
    host: str
    port: int
    status: dict[str, Any]
    locked: bool = False  # it wants a token mlform does not have (401)
    grpc_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _get(url: str, token: auth.Token | None = None, timeout: float = 2.0) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=token.header() if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def _record(folder: Path) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = json.loads((folder / "server.json").read_text())
    except (OSError, ValueError):
        return None
    return record


def token_for(folder: Path, token_file: Path | None = None) -> auth.Token | None:
    """The token mlform sends to this deployment's server (see the module's docstring)."""
    token = auth.read_token(token_file)
    if token is not None:
        return token
    recorded = (_record(folder) or {}).get("token_file")
    return auth.read_token(Path(recorded)) if recorded else None


def status(folder: Path, token: auth.Token | None = None) -> Running | None:
    """The running server of this deployment, or None (stale records are removed)."""
    record = _record(folder)
    if record is None:
        return None
    if not alive(int(record["pid"])):
        (folder / "server.json").unlink(missing_ok=True)
        return None
    code, body = _get(
        f"http://{record['host']}:{record['port']}/mlform/status", token or token_for(folder)
    )
    return Running(
        int(record["pid"]),
        record["host"],
        int(record["port"]),
        body if code == 200 else {},
        locked=code == 401,
        grpc_port=record.get("grpc_port"),
    )


def apply(
    folder: Path,
    config: ServeConfig,
    checkpoint: Callable[[], None] | None = None,
    token_file: Path | None = None,
) -> Running:
    """Serve ``config``: hot-swap a running server, or start one; wait until it serves it.
    A server started with another token file, host or port (HTTP or gRPC) is restarted."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = token_for(folder, token_file)
    auth.require_for_bind(config.host, config.port, token)
    recorded = (_record(folder) or {}).get("token_file")
    running = status(folder, token)
    wanted = str(token.file) if token and token.file else None
    if running is not None and running.locked:
        raise _refused(config.deployment, running.pid, token)
    if running is not None and (running.host, running.port, running.grpc_port, recorded) != (
        config.host,
        config.port,
        config.grpc_port,
        wanted,
    ):
        stop(folder)
        running = None
    write_atomic(folder / "config.json", config.to_json().encode())
    if checkpoint is not None:
        checkpoint()
    if running is not None:
        if running.status.get("config") != config.digest:
            os.kill(running.pid, signal.SIGHUP)
        return _wait_for(folder, config, running.pid, token)
    return start(folder, config, token)


def start(folder: Path, config: ServeConfig, token: auth.Token | None = None) -> Running:
    from mlform.serving.run import port_problem

    auth.require_for_bind(config.host, config.port, token)
    for key, port in (("port", config.port), ("grpc_port", config.grpc_port)):
        problem = port_problem(config.host, port) if port else None
        if problem:
            raise UserError(
                problem, hint=f"Change the Deployment's spec.local.{key}, or stop what uses it."
            )
    log = folder / "server.log"
    # Only the path of a token file goes on the command line (others can read that);
    # a token from the environment reaches the server through its environment.
    argv = ["-m", "mlform", "serve", "--config", str(folder / "config.json")]
    if token is not None and token.file is not None:
        argv += ["--token-file", str(token.file)]
    with _private_append(log) as handle:
        pid = spawn(argv, cwd=folder, log=handle)
    record = {
        "pid": pid,
        "host": config.host,
        "port": config.port,
        "grpc_port": config.grpc_port,
        "started": time.time(),
        "log": str(log),
        "token_file": str(token.file) if token and token.file else None,
    }
    write_atomic(folder / "server.json", json.dumps(record, indent=2).encode())
    return _wait_for(folder, config, pid, token)


def _private_append(path: Path) -> BinaryIO:
    """``path`` opened to append, readable by its owner only whatever the umask (the log
    holds the server's errors, which may quote requests)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "ab")


def _wait_for(folder: Path, config: ServeConfig, pid: int, token: auth.Token | None) -> Running:
    deadline = time.monotonic() + START_TIMEOUT
    url = f"http://{config.host}:{config.port}"
    while time.monotonic() < deadline:
        if not alive(pid):
            tail = _tail(folder / "server.log")
            (folder / "server.json").unlink(missing_ok=True)
            raise UserError(f"the server of '{config.deployment}' exited while starting:\n{tail}")
        code, body = _get(f"{url}/mlform/status", token)
        if code == 401:
            raise _refused(config.deployment, pid, token)
        if code == 200 and body.get("config") == config.digest:
            ready, _ = _get(f"{url}/v2/health/ready")
            if ready == 200:
                return Running(pid, config.host, config.port, body, grpc_port=config.grpc_port)
        time.sleep(0.1)
    raise UserError(
        f"the server of '{config.deployment}' did not serve the new config within {START_TIMEOUT:g} s; see {folder / 'server.log'}"
    )


def _refused(deployment: str, pid: int, token: auth.Token | None) -> UserError:
    return UserError(
        f"the server of '{deployment}' (pid {pid}) refused "
        + (f"the token from {token.origin}" if token else "mlform: it wants a token"),
        hint=f"Give the token it was started with ({auth.TOKEN_ENV} or --token-file), or `mlform server stop {deployment}` and start it again.",
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
