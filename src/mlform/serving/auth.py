"""The server token: who may post feedback and read ``/mlform/status``.

The token comes from a file (``--token-file PATH``) or the environment
(``MLFORM_SERVER_TOKEN``), never from the spec (specs are committed and shared). A server
on a loopback address may run without one; on any other address it refuses to start
without one. With a token, the admin and write endpoints want ``Authorization: Bearer
<token>``; inference, health and metadata stay open, as on KServe and Triton.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlform.errors import UserError
from mlform.serving.errors import RequestError

TOKEN_ENV = "MLFORM_SERVER_TOKEN"
MIN_LENGTH = 16
HOW_TO_MAKE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


@dataclass(frozen=True)
class Token:
    value: str
    file: Path | None  # None: from the environment

    @property
    def origin(self) -> str:
        return f"the token file {self.file}" if self.file else TOKEN_ENV

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


def read_token(token_file: Path | None, environ: Mapping[str, str] | None = None) -> Token | None:
    """The token from ``token_file`` if given, else from ``MLFORM_SERVER_TOKEN``, else None."""
    if token_file is not None:
        path = token_file.expanduser().absolute()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise UserError(f"cannot read the token file {path}: {reason}") from None
        return Token(_checked(text.strip(), f"the token file {path}"), path)
    value = (os.environ if environ is None else environ).get(TOKEN_ENV, "").strip()
    return Token(_checked(value, TOKEN_ENV), None) if value else None


def _checked(value: str, origin: str) -> str:
    if not value:
        raise UserError(f"{origin} is empty", hint=f"Make a token with: {HOW_TO_MAKE}")
    if not all("!" <= c <= "~" for c in value):
        raise UserError(
            f"{origin} holds spaces, control or non-ASCII characters; a token is sent in an HTTP header",
            hint=f"Make a token with: {HOW_TO_MAKE}",
        )
    if len(value) < MIN_LENGTH:
        raise UserError(
            f"{origin} holds a token of {len(value)} characters; use at least {MIN_LENGTH}",
            hint=f"Make a token with: {HOW_TO_MAKE}",
        )
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another name: it may resolve to anything


def require_for_bind(host: str, port: int, token: Token | None) -> None:
    """Refuse to serve a non-loopback address without a token."""
    if token is None and not is_loopback(host):
        raise UserError(
            f"refusing to serve on {host}:{port} without a token: anyone who can reach the port could post feedback that retraining uses",
            hint=f"Set {TOKEN_ENV} or pass --token-file PATH (a file only you can read); make a token with: {HOW_TO_MAKE}",
        )


def check_request(token: Token | None, headers: list[tuple[bytes, bytes]]) -> None:
    """Raise a 401 unless the request carries the token (or the server has none); without
    a token (loopback only), refuse Host names that are not loopback, so a web page
    rebinding its DNS name to 127.0.0.1 cannot post feedback either."""
    if token is None:
        host = _header(headers, b"host")
        if host is not None and not is_loopback(_hostname(host.decode("latin-1"))):
            raise RequestError(
                421, "this server has no token and answers admin requests for loopback names only"
            )
        return
    given = _header(headers, b"authorization")
    if given is None:
        raise RequestError(
            401,
            "this endpoint needs the server's token: send Authorization: Bearer <token>",
            ((b"www-authenticate", b'Bearer realm="mlform"'),),
        )
    scheme, _, credentials = given.partition(b" ")
    if scheme.lower() != b"bearer" or not hmac.compare_digest(
        credentials.strip(), token.value.encode()
    ):
        raise RequestError(
            401,
            "the token sent is not this server's",
            ((b"www-authenticate", b'Bearer realm="mlform", error="invalid_token"'),),
        )


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _hostname(host: str) -> str:
    """``[::1]:8080`` → ``::1``; ``localhost:8080`` → ``localhost``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host
