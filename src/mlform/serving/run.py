"""Running the server: uvicorn (uvloop, httptools; ``connections`` guards slow clients),
reload on SIGHUP, graceful shutdown on SIGTERM/SIGINT (in-flight requests finish). A
non-loopback address needs a token (``auth``)."""

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
from mlform.serving import auth
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


def serve(config_path: Path, token_file: Path | None = None) -> int:
    """Serve in the foreground until SIGTERM or Ctrl-C; the token from ``token_file``, else
    from ``MLFORM_SERVER_TOKEN``."""
    import uvicorn

    from mlform.serving.connections import guarded, quiet

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    config = ServeConfig.load(config_path)
    token = auth.read_token(token_file)
    auth.require_for_bind(config.host, config.port, token)
    for key, port in (("port", config.port), ("grpc_port", config.grpc_port)):
        problem = port_problem(config.host, port) if port else None
        if problem:
            raise UserError(
                problem,
                hint=f"Choose another port in the Deployment's spec.local.{key}, or stop the other server.",
            )
    try:
        snapshot = load(config)
    except Exception as error:
        raise UserError(f"cannot load the models: {error}") from None
    server = Server(snapshot, token)
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
        "http": guarded(server),
        "ws": "none",  # an upgrade request is answered as plain HTTP
        "proxy_headers": False,  # nothing here reads the client address
    }
    try:
        __import__("uvloop")
        settings["loop"] = "uvloop"
    except ImportError:  # pragma: no cover - ships with mlform's dependencies (not on Windows)
        pass
    _enough_files(config.limits.max_connections)
    names = ", ".join(f"{m.model}@{m.version}" for m in config.models)
    log.warning(
        "serving %s on http://%s:%s%s (deployment %s; %s)",
        names,
        config.host,
        config.port,
        f" and gRPC port {config.grpc_port}" if config.grpc_port else "",
        config.deployment,
        f"feedback and /mlform/status need the token from {token.origin}"
        if token
        else "no token: feedback and /mlform/status are open to this machine",
    )
    uvicorn_config = uvicorn.Config(server, **settings)
    logging.getLogger("uvicorn.error").addFilter(quiet)  # after uvicorn configured logging
    Uvicorn(uvicorn_config).run()
    return 0


def _enough_files(connections: int) -> None:
    """Raise the open-file limit to hold ``connections`` (plus models and logs) if the hard
    limit allows; otherwise say so, as accepting would then fail for everyone."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 128
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < wanted:
            log.warning(
                "the open-file limit (%s) is below max_connections %s + 128; connections beyond it fail",
                target,
                connections,
            )
