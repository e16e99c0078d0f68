"""Connections that cannot hold the server: uvicorn's httptools protocol with a deadline
for each request's headers, a cap on open connections, and JSON for what it refuses.

uvicorn (0.54) times a connection out only while it is idle between two requests: one that
never sends a byte, or sends its headers a byte at a time, or dribbles a body after its
response, stays open for ever. Here:

- a request's headers must arrive within ``header_timeout_seconds`` of the connection
  opening (first request) or of the request's first byte (later ones on a keep-alive
  connection): a partial request gets a 408, a silent connection is closed;
- a connection beyond ``max_connections`` gets a 503 and is closed at once;
- a response sent before its request's body was read (an error, a 404) ends the connection,
  so the rest of the body is not read for ever;
- what is not HTTP gets a 400 with a JSON body.

The body's own deadline is the application's (``body_timeout_seconds``, a 408).
Limits are read from the server's current snapshot at each connection, so a reload applies
them to new connections.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mlform.serving.config import Limits

if TYPE_CHECKING:
    from mlform.serving.app import Server

# Warnings uvicorn logs for each bad request: an attacker could fill the log with them;
# they are counted in mlform_http_rejected_total instead.
QUIET = ("Invalid HTTP request received.", "Unsupported upgrade request.", "No supported WebSocket")


def response(status: int, message: str) -> bytes:
    """A complete JSON error response that closes the connection."""
    body = orjson.dumps({"error": message})
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def guarded(server: Server) -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, bound to ``server``."""

    class Guarded(HttpToolsProtocol):
        limits = Limits()
        header_timer: asyncio.TimerHandle | None = None
        in_request = False  # a request's first byte arrived
        headers_done = False  # ... and its headers
        message_done = True  # ... and its body

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.limits = server.snapshot.config.limits if server.snapshot else Limits()
            if len(self.connections) > self.limits.max_connections:
                server.metrics.rejected["too_many_connections"] += 1
                self.transport.write(
                    response(
                        503,
                        f"the server is at its limit of {self.limits.max_connections:,} connections; try again",
                    )
                )
                self.transport.close()
                return
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.in_request, self.headers_done, self.message_done = True, False, False
            if self.header_timer is None:  # a later request on a keep-alive connection
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            self.headers_done = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self.in_request, self.message_done = False, True
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The request answered is the one being read (not a pipelined next one whose
            # headers are still arriving), and its body is not all in: do not read on.
            answered = self.cycle is not None and self.cycle.response_complete
            unread = self.headers_done and not self.message_done
            if answered and unread and not self.transport.is_closing():
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            server.metrics.rejected["invalid_http"] += 1
            self._disarm()
            self.transport.write(response(400, "the request is not valid HTTP/1.1"))
            self.transport.close()

        def _arm(self) -> None:
            self.header_timer = self.loop.call_later(
                self.limits.header_timeout_seconds, self._headers_too_slow
            )

        def _disarm(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _headers_too_slow(self) -> None:
            self.header_timer = None
            if self.transport.is_closing():
                return
            idle = self.cycle is None or self.cycle.response_complete
            if self.in_request and idle:
                server.metrics.rejected["header_timeout"] += 1
                self.transport.write(
                    response(
                        408,
                        f"the request's headers did not arrive within {self.limits.header_timeout_seconds:g} s",
                    )
                )
            self.transport.close()

    return Guarded


def quiet(record: logging.LogRecord) -> bool:
    """A logging filter for uvicorn's per-request warnings (see QUIET)."""
    return not str(record.msg).startswith(QUIET)
