"""Reading a request's body: its type (415), size (413) and deadline (408) first. Bodies
are JSON, or binary tensor data with the ``Inference-Header-Content-Length`` header."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from mlform.serving.config import Limits
from mlform.serving.errors import RequestError, bad_request
from mlform.serving.metrics import Metrics

CLOSE = ((b"connection", b"close"),)  # the rest of the body is not read: end the connection


async def read_json(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    limits: Limits,
    metrics: Metrics,
) -> Any:
    """The request's body, parsed; a RequestError saying why not."""
    headers = {key: value for key, value in scope["headers"]}
    kind = headers.get(b"content-type")
    length = headers.get(b"content-length")
    if kind != b"application/json" and (
        kind is not None or length not in (None, b"0") or b"transfer-encoding" in headers
    ):
        # a body of another type, or without one (no body at all is a 400 below)
        check_json_type(None if kind is None else kind.decode("latin-1"))
    data = await read_bytes(headers, receive, limits, metrics)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise bad_request(f"the request body is not valid JSON: {error}") from None


async def read_binary(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    limits: Limits,
    metrics: Metrics,
) -> bytes:
    """The body of a request with binary tensor data, as bytes: sent with no Content-Type
    (tritonclient), ``application/octet-stream`` or ``application/json``. Its
    ``Inference-Header-Content-Length`` header, which a web page cannot send across sites
    without a CORS preflight (failing here), stands in for the JSON type's protection."""
    headers = {key: value for key, value in scope["headers"]}
    kind = headers.get(b"content-type")
    media = (kind or b"").partition(b";")[0].strip().lower()
    if media not in (b"", b"application/octet-stream", b"application/json"):
        raise RequestError(
            415,
            "a request with binary tensor data (Inference-Header-Content-Length) must be sent "
            f"as Content-Type: application/octet-stream; got '{(kind or b'').decode('latin-1')}'",
        )
    return await read_bytes(headers, receive, limits, metrics)


async def read_bytes(
    headers: dict[bytes, bytes],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    limits: Limits,
    metrics: Metrics,
) -> bytes:
    """The body within the size limit and the body deadline."""
    length = headers.get(b"content-length")
    limit = limits.max_body_bytes
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestError(
            413, f"the request body is {int(length):,} bytes; the limit is {limit:,}", CLOSE
        )
    try:  # one deadline for the whole body (a timer per request, not a task per message)
        if _held_whole(receive):
            return await _collect(receive, limit)
        async with asyncio.timeout(limits.body_timeout_seconds):
            return await _collect(receive, limit)
    except TimeoutError:
        metrics.rejected["body_timeout"] += 1
        raise RequestError(
            408,
            f"the request body did not arrive within {limits.body_timeout_seconds:g} s",
            CLOSE,
        ) from None


async def _collect(receive: Callable[[], Awaitable[dict[str, Any]]], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "the client went away before sending its body", CLOSE)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request body is over the limit of {limit:,} bytes", CLOSE)
        if not message.get("more_body"):
            return chunk if not chunks else b"".join([*chunks, chunk])
        chunks.append(chunk)


def _held_whole(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bool:
    """Whether uvicorn holds the whole body already (a small request arrives with its
    headers): reading it cannot wait, so it needs no deadline (a timer costs ~4 µs)."""
    cycle = getattr(receive, "__self__", None)  # uvicorn's RequestResponseCycle
    return getattr(cycle, "more_body", True) is False and not getattr(cycle, "disconnected", True)


def check_json_type(value: str | None) -> None:
    """Bodies are JSON: also what keeps a web page's cross-site form post out (a browser
    sends ``application/json`` across sites only after a CORS preflight, which fails here)."""
    media = (value or "").partition(";")[0].strip().lower()
    if media != "application/json":
        got = f"'{value}'" if value else "no Content-Type"
        binary = (
            " (binary tensor data needs the Inference-Header-Content-Length header)"
            if media == "application/octet-stream"
            else ""
        )
        raise RequestError(
            415,
            f"the request body must be JSON sent as Content-Type: application/json; got {got}"
            + binary,
        )
