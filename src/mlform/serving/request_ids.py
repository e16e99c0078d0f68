"""Request ids: the one a request gives (its body's ``id``, else ``X-Request-Id``, both
checked: they are echoed in a header and logged), or a new random one."""

from __future__ import annotations

import os
from typing import Any

from mlform.serving import protocol


def new() -> str:
    """A request id as ``uuid.uuid4().hex`` makes one (random, version 4), without building
    a UUID object."""
    value = int.from_bytes(os.urandom(16), "big")
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
