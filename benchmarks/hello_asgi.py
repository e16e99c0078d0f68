"""The floor of bench_serving.py: an ASGI app that answers every request with the same
small JSON body, under the same uvicorn, uvloop and httptools as mlform's server.

    python -m uvicorn hello_asgi:app --app-dir benchmarks --loop uvloop --http httptools \
        --no-access-log --lifespan off --port 8000
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

BODY = b'{"model_name":"hello","outputs":[]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
