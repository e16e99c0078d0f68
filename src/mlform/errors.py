"""Exceptions that cross module boundaries; the CLI maps each to an exit code."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused operation: a clear message, exit code 1, no traceback."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SpecInvalid(UserError):
    """The specs have errors; the diagnostics were already reported."""
