"""The ASGI application: routing, limits, errors as {"error": ...}, metrics, logging.

Routes (Open Inference Protocol V2, V1, and mlform's own):

    GET  /v2/health/live   /v2/health/ready   /v2   /v2/
    GET  /v2/models/{m}[/versions/{v}]         metadata
    GET  /v2/models/{m}[/versions/{v}]/ready
    POST /v2/models/{m}[/versions/{v}]/infer
    POST /v2/models/{m}/feedback               ground-truth labels by request id (+ extra columns)
    GET  /v1/models/{m}      POST /v1/models/{m}:predict
    GET  /metrics            GET /mlform/status

With a token (``auth``), feedback and ``/mlform/status`` need ``Authorization: Bearer``.
Request bodies must be ``Content-Type: application/json`` (415), or binary tensor data
with the ``Inference-Header-Content-Length`` header (``binary``), within the size limit
(413) and arrive within the body timeout (408). With a ``grpc_port``, the same models are
served over gRPC too (``grpc_service``), started and stopped with this app's lifespan.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from mlform.serving import auth, binary, fast_path, feedback, protocol, request_ids, v1
from mlform.serving.body import read_binary, read_json
from mlform.serving.config import Limits
from mlform.serving.errors import RequestError, not_found
from mlform.serving.metrics import Metrics
from mlform.serving.model import ServedModel
from mlform.serving.predlog import LogFull, PredictionLogger
from mlform.serving.router import ModelGroup, Snapshot
from mlform.version import __version__

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = [(b"content-type", b"application/json")]
TEXT = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
_UNSAFE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # what uvicorn refuses in a header value
THREAD_ROWS = 256  # bigger requests run in a worker thread, off the event loop


class Server:
    """Holds the current snapshot; the ASGI callable is ``__call__``."""

    def __init__(self, snapshot: Snapshot | None, token: auth.Token | None = None) -> None:
        self.snapshot = snapshot
        self.token = token
        self.metrics = Metrics()
        self.logger: PredictionLogger | None = None
        self.generation = 0
        self.started = time.time()
        self.grpc: Any = None  # the gRPC server (grpc.aio.Server), while one runs
        self.new_id = request_ids.Ids()  # a new request's id, for a request without one
        if snapshot is not None:
            self.install(snapshot)

    def install(self, snapshot: Snapshot) -> None:
        config = snapshot.config
        if self.logger is None and config.prediction_log.folder:
            self.logger = PredictionLogger(config.prediction_log, config.deployment)
        self.metrics.models = [
            (m.name, m.version, m.entry.sha256, config.deployment)
            for group in snapshot.groups.values()
            for m in group.versions.values()
        ]
        self.snapshot = snapshot  # one reference swap: the hot swap
        self.generation += 1

    # --- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        labels = ["", "", _protocol(scope["path"])]
        inference = labels[2] != "other"
        self.metrics.in_flight += inference
        rows = 0
        try:
            status, payload, headers, rows = await self._handle(scope, receive, labels)
        except RequestError as error:
            status, payload = error.status, orjson.dumps({"error": error.message})
            headers = [*JSON, *error.headers]
        except Exception as error:  # a bug must not take the server down
            status, payload, headers = (
                500,
                orjson.dumps({"error": f"internal error: {type(error).__name__}"}),
                JSON,
            )
        finally:
            self.metrics.in_flight -= inference
        if headers is not JSON and any(_UNSAFE.search(value) for _, value in headers):
            # never a header uvicorn refuses (JSON's are constants)
            status, payload, headers = 500, b'{"error":"internal error: bad header"}', JSON
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", b"%d" % len(payload))],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        if inference:
            self.metrics.observe(
                labels[0], labels[1], labels[2], status, time.perf_counter() - started, rows
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start_grpc()
                except Exception as error:  # uvicorn logs it and exits non-zero
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.grpc is not None:  # in-flight calls finish, as HTTP requests do
                    await self.grpc.stop(grace=GRPC_GRACE_SECONDS)
                    self.grpc = None
                if self.logger is not None:
                    self.logger.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _start_grpc(self) -> None:
        config = self.snapshot.config if self.snapshot is not None else None
        if config is not None and config.grpc_port:
            from mlform.serving import grpc_service

            self.grpc = await grpc_service.start(self, config)

    async def _body(self, scope: dict[str, Any], receive: Receive) -> Any:
        limits = self.snapshot.config.limits if self.snapshot else Limits()
        return await read_json(scope, receive, limits, self.metrics)

    async def _infer_body(
        self, scope: dict[str, Any], receive: Receive
    ) -> tuple[Any, memoryview | None]:
        """An inference request's JSON, and its binary tensor data if it has the header."""
        header = request_ids.header(scope, binary.HEADER)
        limits = self._snapshot().config.limits
        if header is None:
            return await read_json(scope, receive, limits, self.metrics), None
        return binary.split(await read_binary(scope, receive, limits, self.metrics), header)

    # --- routing -----------------------------------------------------------------------
    async def _handle(
        self, scope: dict[str, Any], receive: Receive, labels: list[str]
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], int]:
        method, path = scope["method"], scope["path"]
        group = self.snapshot.infer_paths.get(path) if self.snapshot is not None else None
        if group is not None and method == "POST":  # V2 inference, unversioned: at once
            body, part = await self._infer_body(scope, receive)
            given = request_ids.of(body, scope)
            return await self._infer_v2(body, part, group.pick(given), labels, given)
        parts = [p for p in path.split("/") if p]
        get, post = method in ("GET", "HEAD"), method == "POST"
        if path == "/metrics" and get:
            if self.logger is not None:
                self.metrics.dropped = self.logger.dropped
            return 200, self.metrics.render().encode() + self._exported(), TEXT, 0
        if parts[:1] == ["v2"]:
            return await self._v2(parts[1:], get, post, scope, receive, labels)
        if parts[:2] == ["v1", "models"] and len(parts) == 3:
            return await self._v1(parts[2], get, post, scope, receive, labels)
        if parts == ["mlform", "status"] and get:
            auth.check_request(self.token, scope["headers"])
            return 200, orjson.dumps(self.status()), JSON, 0
        raise not_found(f"no route for {method} {path}")

    def _snapshot(self) -> Snapshot:
        if self.snapshot is None:
            raise RequestError(503, "no model is loaded yet")
        return self.snapshot

    async def _v2(
        self,
        parts: list[str],
        get: bool,
        post: bool,
        scope: dict[str, Any],
        receive: Receive,
        labels: list[str],
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], int]:
        if parts == ["health", "live"] and get:
            return 200, b'{"live":true}', JSON, 0
        if parts == ["health", "ready"] and get:
            ready = self.snapshot is not None and bool(self.snapshot.groups)
            if not ready:
                raise RequestError(503, "not ready: no model is loaded")
            return 200, b'{"ready":true}', JSON, 0
        if not parts and get:
            return (
                200,
                orjson.dumps({"name": "mlform", "version": __version__, "extensions": EXTENSIONS}),
                JSON,
                0,
            )
        if len(parts) < 2 or parts[0] != "models":
            raise not_found(f"no route for /v2/{'/'.join(parts)}")
        group = self._snapshot().group(parts[1])
        rest = parts[2:]
        version: ServedModel | None = None
        if rest[:1] == ["versions"]:
            if len(rest) < 2:
                raise not_found("a version is missing after /versions/")
            version = group.version(rest[1])
            rest = rest[2:]
        if not rest and get:
            model = version or group.default
            return 200, orjson.dumps(model.metadata(list(group.versions))), JSON, 0
        if rest == ["ready"] and get:
            model = version or group.default
            return (
                200,
                orjson.dumps({"name": model.name, "version": model.version, "ready": True}),
                JSON,
                0,
            )
        if rest == ["infer"] and post:
            body, part = await self._infer_body(scope, receive)
            given = request_ids.of(body, scope)
            model = group.pick(given) if version is None else version
            return await self._infer_v2(body, part, model, labels, given)
        if rest == ["feedback"] and post and version is None:
            auth.check_request(self.token, scope["headers"])  # before reading any body
            return self._feedback(group, await self._body(scope, receive))
        raise RequestError(
            405 if rest in (["infer"], ["ready"], [], ["feedback"]) else 404,
            f"no route for {scope['method']} {scope['path']}",
        )

    async def _infer_v2(
        self,
        body: Any,
        part: memoryview | None,
        model: ServedModel,
        labels: list[str],
        given: str | None,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], int]:
        """``given``: the request's own id (body or header), checked."""
        labels[0], labels[1] = model.name, model.version
        max_batch = self._snapshot().config.limits.max_batch
        fast = fast_path.fast_v2(body, model, max_batch) if part is None else None
        request = fast or protocol.parse_v2(body, model, max_batch, part)
        identifier = given or self.new_id()
        outputs = await self.predict(model, "v2", identifier, request)
        response, blobs = protocol.v2_response(model, outputs, request, identifier)
        if blobs:
            payload, headers = binary.response(response, blobs)
            return 200, payload, headers, request.rows
        return 200, orjson.dumps(response), JSON, request.rows

    async def _v1(
        self,
        target: str,
        get: bool,
        post: bool,
        scope: dict[str, Any],
        receive: Receive,
        labels: list[str],
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], int]:
        name, _, verb = target.partition(":")
        group = self._snapshot().group(name)
        if not verb and get:
            return 200, orjson.dumps({"name": name, "ready": True}), JSON, 0
        if verb == "predict" and post:
            body = await self._body(scope, receive)
            given = request_ids.of(body, scope)
            model = group.pick(given)
            labels[0], labels[1] = model.name, model.version
            request = v1.parse(body, model, self._snapshot().config.limits.max_batch)
            identifier = given or self.new_id()
            outputs = await self.predict(model, "v1", identifier, request)
            return (
                200,
                orjson.dumps(v1.response(model, outputs)),
                [*JSON, (b"x-request-id", identifier.encode())],
                request.rows,
            )
        raise RequestError(
            405 if verb in ("", "predict") else 404,
            f"no route for {scope['method']} {scope['path']}",
        )

    async def predict(
        self, model: ServedModel, protocol_name: str, identifier: str, request: protocol.Request
    ) -> dict[str, Any]:
        """The model's outputs for a checked request, logged: every protocol's inference
        (V1, V2 JSON and binary, gRPC) goes through here."""
        if request.rows <= THREAD_ROWS:  # on the event loop: a thread hop costs more
            outputs = model.run(request.columns)
        else:
            outputs = await self._in_thread(model, request)
        self._log(model, protocol_name, identifier, request, outputs)
        return outputs

    async def _in_thread(self, model: ServedModel, request: protocol.Request) -> dict[str, Any]:
        timeout = self._snapshot().config.limits.timeout_seconds
        try:
            return await asyncio.wait_for(asyncio.to_thread(model.run, request.columns), timeout)
        except TimeoutError:
            raise RequestError(503, f"inference took longer than {timeout:g} s") from None

    def _log(
        self,
        model: ServedModel,
        protocol_name: str,
        identifier: str,
        request: protocol.Request,
        outputs: dict[str, Any],
    ) -> None:
        if self.logger is not None:  # buffered: serialized and written by the log's thread
            self.logger.log(
                model,
                protocol_name,
                identifier,
                request.columns,
                outputs,
                request.rows,
                request.values,
            )

    def _feedback(
        self, group: ModelGroup, body: Any
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]], int]:
        limits = self._snapshot().config.limits
        clean = feedback.parse_feedback(body, feedback.Signature.of(group), limits.max_batch)
        if self.logger is None:
            raise RequestError(
                409, "this deployment keeps no prediction log, so feedback cannot be joined"
            )
        try:
            self.logger.record_feedback(group.name, clean)
        except LogFull as full:
            raise RequestError(507, str(full)) from None
        return 200, orjson.dumps({"recorded": len(clean)}), JSON, 0

    def _exported(self) -> bytes:
        """The monitors' metric files, each complete (they are replaced atomically)."""
        if self.snapshot is None:
            return b""
        out = b""
        for name in self.snapshot.config.metrics_files:
            try:
                with open(name, "rb") as handle:
                    data = handle.read(MAX_EXPORTED_BYTES + 1)
            except OSError:
                continue  # the monitor has not run yet
            if len(data) <= MAX_EXPORTED_BYTES:
                out += data if data.endswith(b"\n") else data + b"\n"
        return out

    def status(self) -> dict[str, Any]:
        snapshot = self.snapshot
        return {
            "deployment": snapshot.config.deployment if snapshot else None,
            "config": snapshot.config.digest if snapshot else None,
            "generation": self.generation,
            "uptime_seconds": round(time.time() - self.started, 1),
            "models": [
                {
                    "model": m.name,
                    "version": m.version,
                    "sha256": m.entry.sha256,
                    "weight": m.entry.weight,
                }
                for group in (snapshot.groups.values() if snapshot else [])
                for m in group.versions.values()
            ],
        }


def _protocol(path: str) -> str:
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        return "v2"
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        return "v1"
    return "other"


MAX_EXPORTED_BYTES = 4 * 1024 * 1024
EXTENSIONS = ["binary_tensor_data"]
GRPC_GRACE_SECONDS = 30.0  # as uvicorn's timeout_graceful_shutdown in run.py
