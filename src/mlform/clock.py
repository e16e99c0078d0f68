"""Time as mlform writes and reads it: UTC ISO 8601 timestamps (to the second in state and
records, to the millisecond in logs, where they compare as strings), and durations.

A duration is written as Prometheus writes one (specs reach Prometheus's ``for:``): one or
more number-unit pairs, ``30s``, ``15m``, ``1h30m``, ``7d``, units ms, s, m, h, d, w, y; or
``0``. The same grammar holds in specs (``DURATION_PATTERN``) and command-line options."""

from __future__ import annotations

import calendar
import re
import time

from mlform.errors import UserError

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION_PATTERN = r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"
_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")


def stamp(seconds: float | None = None) -> str:
    """``2026-11-27T01:17:47Z``; now when ``seconds`` is None."""
    return time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if seconds is None else seconds)
    )


def stamp_ms(seconds: float | None = None) -> str:
    """``2026-11-27T01:17:47.123Z``: the prediction and feedback logs' timestamps."""
    now = time.time() if seconds is None else seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def epoch(text: str) -> float:
    """Unix time of a timestamp written by ``stamp`` or ``stamp_ms`` (to the second)."""
    return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))


MAX_YEARS = 100  # Prometheus holds at most ~292 years; no window or lease needs more


def too_long(text: str) -> str | None:
    """Why a duration in the grammar is too long to mean anything, or None."""
    seconds = sum(float(number) * UNITS[unit] for number, unit in _PART.findall(text.strip()))
    if seconds > MAX_YEARS * UNITS["y"]:
        return f"'{text}' is longer than {MAX_YEARS} years"
    return None


def duration_seconds(text: str) -> float:
    """``1h30m`` → 5400.0."""
    value = text.strip()
    if not re.fullmatch(DURATION_PATTERN, value):
        raise UserError(f"'{text}' is not a duration like 30s, 15m, 1h or 7d")
    problem = too_long(value)
    if problem:
        raise UserError(problem)
    return float(sum(float(number) * UNITS[unit] for number, unit in _PART.findall(value)))
