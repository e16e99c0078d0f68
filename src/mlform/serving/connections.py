"""Connections that cannot hold the server: uvicorn's httptools protocol with a deadline
for each request's headers, a cap on open connections, and JSON for what it refuses.

uvicorn (0.54) times a connection out only while it is idle between two requests: one that
never sends a byte, or sends its headers a byte at a time, or dribbles a body after its
response, stays open for ever. Here:

- a request's headers must arrive within ``header_timeout_seconds`` of the connection
  opening (first request) or of the request's first byte (later ones on a keep-alive
  connection): a partial request gets a 408, a silent connection is closed;
- a request's line and headers must fit in ``max_header_bytes`` and ``max_headers``, each
  request of a keep-alive or pipelined connection on its own: over, a 431 and the
  connection is closed (httptools keeps a header being received in memory, however long);
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
from typing import TYPE_CHECKING, Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mlform.serving.config import Limits

if TYPE_CHECKING:
    from mlform.serving.app import Server

# Warnings uvicorn logs for each bad request: an attacker could fill the log with them;
# they are counted in mlform_http_rejected_total instead.
QUIET = ("Invalid HTTP request received.", "Unsupported upgrade request.", "No supported WebSocket")
# Bytes given to the parser at a time while a request's head is arriving: its size is known
# to within this (httptools says when a header is complete, not how far it has read).
STEP = 4096


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a request whose head is over a limit."""


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


class OneWrite:
    """A request's transport as its response sees it: the response's head is held until
    its body is written, so both leave in one write (one system call, one TCP segment for
    a small response, one wake-up of the client) instead of two. A ``100 Continue`` goes
    at once; a response without a body (HEAD) is flushed when it completes."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.head: bytes | None = None
        self.started = False

    def write(self, data: bytes) -> None:
        if not self.started and data.startswith(b"HTTP/1.1 ") and data[9:13] != b"100 ":
            self.started, self.head = True, data
            return
        if self.head is not None:
            data, self.head = self.head + data, None
        self.transport.write(data)

    def flush(self) -> None:
        if self.head is not None:
            head, self.head = self.head, None
            self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, ...
        return getattr(self.transport, name)


def guarded(server: Server) -> type[asyncio.Protocol]:
    """The protocol class for ``uvicorn.Config(http=...)``, bound to ``server``."""

    class Guarded(HttpToolsProtocol):
        limits = Limits()
        header_timer: asyncio.TimerHandle | None = None
        in_request = False  # a request's first byte arrived
        headers_done = False  # ... and its headers
        message_done = True  # ... and its body
        head_bytes = 0  # bytes given to the parser since the request began (within STEP)
        parsed_bytes = 0  # its line and headers as parsed so far (exact)
        header_count = 0
        began = False  # the request began in the piece being parsed
        body_left: int | None = None  # bytes of its body still to come, from Content-Length
        refusal = ""  # why its head is refused (set before HeadTooLarge is raised)
        refused: bytes | None = None  # a 431 waiting for the answers to earlier requests
        stopped = False  # nothing more is read from this connection

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

        def data_received(self, data: bytes) -> None:
            if self.stopped:
                return
            view, start = memoryview(data), 0
            while start < len(view):
                size = STEP
                if self.headers_done and not self.message_done and self.body_left:
                    size = self.body_left  # a known body whole: none of it is a head
                piece = view[start : start + size]
                start += len(piece)
                self.began = False
                super().data_received(piece)  # type: ignore[arg-type]
                if self.stopped or self.transport.is_closing() or self.parser is None:
                    return
                if self.in_request and not self.headers_done:
                    self.head_bytes = len(piece) + (0 if self.began else self.head_bytes)
                    if self.head_bytes > self.limits.max_header_bytes:
                        self._refuse(self._too_long())
                    elif self.header_timer is None:  # a later request's head, not all in
                        self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.in_request, self.headers_done, self.message_done = True, False, False
            self.head_bytes = self.parsed_bytes = self.header_count = 0
            self.began, self.body_left = True, None
            # A later request on a keep-alive connection is timed from its first byte, once
            # the piece holding that byte is parsed (``data_received``): a request whose head
            # arrives whole needs no timer.

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._parsed(len(url))

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self.header_count += 1
            if self.header_count > self.limits.max_headers:
                self.refusal = f"the request has more than {self.limits.max_headers:,} headers"
                raise HeadTooLarge
            self._parsed(len(name) + len(value) + 4)  # "name: value\r\n"

        def on_headers_complete(self) -> None:
            self._disarm()
            self.headers_done = True
            length = dict(self.headers).get(b"content-length", b"")
            self.body_left = int(length) if length.isdigit() else None
            before = self.cycle
            super().on_headers_complete()
            if self.cycle is not None and self.cycle is not before:  # a new request's cycle
                self.cycle.transport = OneWrite(self.transport)  # type: ignore[assignment]

        def on_body(self, body: bytes) -> None:
            if self.body_left is not None:
                self.body_left -= len(body)
            super().on_body(body)

        def on_message_complete(self) -> None:
            self.in_request, self.message_done = False, True
            super().on_message_complete()

        def on_response_complete(self) -> None:
            if self.cycle is not None and isinstance(self.cycle.transport, OneWrite):
                self.cycle.transport.flush()  # a response without a body
            super().on_response_complete()
            if self.refused is not None and self.cycle.response_complete:
                self._close_with(self.refused)  # the requests before it are answered
                return
            # The request answered is the one being read (not a pipelined next one whose
            # headers are still arriving), and its body is not all in: do not read on.
            answered = self.cycle is not None and self.cycle.response_complete
            unread = self.headers_done and not self.message_done
            if answered and unread and not self.transport.is_closing():
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            if self.refusal:  # HeadTooLarge from a callback, which httptools wraps
                self._refuse(self.refusal)
                return
            server.metrics.rejected["invalid_http"] += 1
            self._disarm()
            self.transport.write(response(400, "the request is not valid HTTP/1.1"))
            self.transport.close()

        def _parsed(self, size: int) -> None:
            self.parsed_bytes += size
            if self.parsed_bytes > self.limits.max_header_bytes:
                self.refusal = self._too_long()
                raise HeadTooLarge

        def _too_long(self) -> str:
            limit = self.limits.max_header_bytes
            return f"the request's line and headers are over the limit of {limit:,} bytes"

        def _refuse(self, message: str) -> None:
            """A 431 once the requests before this one are answered; nothing more is read."""
            server.metrics.rejected["headers_too_large"] += 1
            self.stopped = True
            self._disarm()
            answer = response(431, message)
            if self.cycle is None or self.cycle.response_complete:
                self._close_with(answer)
            else:
                self.refused = answer
                self.transport.pause_reading()

        def _close_with(self, answer: bytes) -> None:
            if not self.transport.is_closing():
                self.transport.write(answer)
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
