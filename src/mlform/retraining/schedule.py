"""Whether a five-field cron schedule (validated by ``spec.cron``) fired between two times."""

from __future__ import annotations

import time
from collections.abc import Sequence

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
LIMITS: tuple[tuple[int, int, Sequence[str]], ...] = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, MONTHS),
    (0, 7, DAYS),
)
MAX_MINUTES = 366 * 24 * 60  # a longer gap fires whatever the schedule


def _field(text: str, low: int, high: int, names: Sequence[str]) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            start, stop = low, high
        else:
            bounds = [
                int(b) if b.isdigit() else names.index(b.lower()) + (1 if names is MONTHS else 0)
                for b in base.split("-")
            ]
            start, stop = bounds[0], bounds[-1]
            if step and len(bounds) == 1:
                stop = high
        values.update(range(start, stop + 1, int(step) if step else 1))
    return values


def fired(expression: str, since: float, until: float) -> bool:
    """True when a minute in (since, until] matches the schedule (UTC, as CI schedulers use)."""
    text = MACROS.get(expression.strip(), expression.strip())
    fields = text.split()
    minute, hour, day, month, weekday = (
        _field(f, low, high, names) for f, (low, high, names) in zip(fields, LIMITS, strict=True)
    )
    weekday = {d % 7 for d in weekday}
    day_any, weekday_any = fields[2] == "*", fields[4] == "*"
    first = int(since // 60) + 1
    last = int(until // 60)
    if last - first > MAX_MINUTES:
        return True
    for stamp in range(first, last + 1):
        t = time.gmtime(stamp * 60)
        if t.tm_min not in minute or t.tm_hour not in hour or t.tm_mon not in month:
            continue
        day_ok = t.tm_mday in day
        weekday_ok = (t.tm_wday + 1) % 7 in weekday
        # crontab(5): when both day fields are restricted, either one matching is enough.
        restricted = not day_any and not weekday_any
        if (day_ok or weekday_ok) if restricted else (day_ok and weekday_ok):
            return True
    return False
