"""Running the server: uvicorn (uvloop, httptools) on loopback, reload on SIGHUP, graceful
shutdown on SIGTERM/SIGINT (in-flight requests finish)."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from mlform.errors import UserError
from mlform.serving.app import Server
from mlform.serving.config import ServeConfig
from mlform.serving.router import load

log = logging.getLogger("mlform.serve")


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be bound, or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use by another process"
            return f"cannot listen on {host}:{port}: {error.strerror}"
    return None


class Reloader:
    """Re-reads the config file on SIGHUP and swaps the models in when all loaded."""

    def __init__(self, server: Server, path: Path) -> None:
        self.server = server
        self.path = path
        self.error: str | None = None

    async def reload(self) -> None:
        try:
            config = ServeConfig.load(self.path)
            snapshot = await asyncio.to_thread(load, config)
        except Exception as error:  # keep serving the previous models
            self.error = f"{type(error).__name__}: {error}"
            log.error(
                "reload failed; still serving generation %s: %s", self.server.generation, self.error
            )
            return
        self.error = None
        self.server.install(snapshot)
        log.warning(
            "serving %s (generation %s)",
            ", ".join(f"{m.model}@{m.version}" for m in config.models),
            self.server.generation,
        )


def serve(config_path: Path) -> int:
    """Serve in the foreground until SIGTERM or Ctrl-C."""
    import uvicorn

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    config = ServeConfig.load(config_path)
    problem = port_problem(config.host, config.port)
    if problem:
        raise UserError(
            problem,
            hint="Choose another port in the Deployment's spec.local.port, or stop the other server.",
        )
    try:
        snapshot = load(config)
    except Exception as error:
        raise UserError(f"cannot load the models: {error}") from None
    server = Server(snapshot)
    reloader = Reloader(server, config_path)

    class Uvicorn(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reloader.reload()))

    settings: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 30,
        "backlog": 2048,
        "lifespan": "on",
        "server_header": False,
    }
    for option, value in (("loop", "uvloop"), ("http", "httptools")):
        try:
            __import__(value)
            settings[option] = value
        except ImportError:  # pragma: no cover - both ship with mlform's dependencies
            pass
    names = ", ".join(f"{m.model}@{m.version}" for m in config.models)
    log.warning(
        "serving %s on http://%s:%s (deployment %s)",
        names,
        config.host,
        config.port,
        config.deployment,
    )
    Uvicorn(uvicorn.Config(server, **settings)).run()
    return 0
