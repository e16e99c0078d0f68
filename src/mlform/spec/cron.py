"""Validation of five-field cron expressions (the crontab(5) dialect CI schedulers accept)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ),
    ("day of week", 0, 7, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
)


def cron_problem(expression: str) -> str | None:
    """None when ``expression`` is a valid cron schedule, else what is wrong with it."""
    text = expression.strip()
    if text in _MACROS:
        return None
    parts = text.split()
    if len(parts) != 5:
        return (
            f"a cron schedule has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: '{expression}'"
        )
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            problem = _item_problem(item, name, low, high, names)
            if problem:
                return f"'{expression}': {problem}"
    return None


def _item_problem(item: str, name: str, low: int, high: int, names: Sequence[str]) -> str | None:
    base, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return f"bad step '/{step}' in the {name} field"
    if base == "*":
        return None
    bounds = base.split("-")
    if len(bounds) > 2 or not all(bounds):
        return f"bad range '{base}' in the {name} field"
    values = []
    for bound in bounds:
        if bound.isdigit():
            value = int(bound)
        elif bound.lower() in names:
            value = names.index(bound.lower()) + (1 if name == "month" else 0)
        else:
            return f"'{bound}' is not a valid {name}"
        if not low <= value <= high:
            return f"{value} is out of range for the {name} field ({low}-{high})"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range '{base}' in the {name} field runs backwards"
    return None


def _check(value: str) -> str:
    problem = cron_problem(value)
    if problem:
        raise PydanticCustomError("E207", problem)
    return value


Cron = Annotated[
    str,
    AfterValidator(_check),
    Field(description="Five cron fields, e.g. '0 3 * * 1', or @daily/@hourly/…"),
]
