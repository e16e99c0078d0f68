"""Exceptions that cross module boundaries; the CLI maps each to an exit code."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input or a refused operation: a clear message, exit code 1, no traceback."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SpecInvalid(UserError):
    """The specs have errors. ``diagnostics`` (when given) are printed by the CLI; without
    them, the command printed them already."""

    def __init__(self, message: str, diagnostics: list[Any] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []
