"""Request ids: the one a request gives (its body's ``id``, else ``X-Request-Id``, both
checked: they are echoed in a header and logged), or a new random one."""

from __future__ import annotations

import os
from typing import Any

from mlform.serving import protocol

POOL_BYTES = 4096  # random bytes read at a time: 256 ids a system call


class Ids:
    """New request ids as ``uuid.uuid4().hex`` makes them (random, version 4), without
    building a UUID object, from ``os.urandom`` read ``POOL_BYTES`` at a time: one system
    call per 256 requests, not one each. One a server (its event loop's thread)."""

    def __init__(self) -> None:
        self.pool = b""
        self.at = 0

    def __call__(self) -> str:
        at = self.at
        if at >= len(self.pool):
            self.pool, at = os.urandom(POOL_BYTES), 0
        self.at = at + 16
        value = int.from_bytes(self.pool[at : at + 16], "big")
        value = (value & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
        return f"{value:032x}"


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def of(body: Any, scope: dict[str, Any]) -> str | None:
    """The body's ``id``, else the ``X-Request-Id`` header; both checked, as the id is
    echoed in a response header and written to the prediction log."""
    given = header(scope, b"x-request-id")
    if given:
        protocol.check_id(given, "the X-Request-Id header")
    if isinstance(body, dict) and isinstance(body.get("id"), str) and body["id"]:
        return protocol.check_id(body["id"], "'id'")
    return given or None
