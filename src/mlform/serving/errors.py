"""Request errors: an HTTP status and a message saying exactly what is wrong."""

from __future__ import annotations


class RequestError(Exception):
    def __init__(
        self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers  # besides content-type, e.g. WWW-Authenticate on a 401


def bad_request(message: str) -> RequestError:
    return RequestError(400, message)


def not_found(message: str) -> RequestError:
    return RequestError(404, message)
