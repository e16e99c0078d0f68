"""A Monitor's data quality: the Dataset's column schema applied to the served window.

Each served value is typed as the Dataset types its source (``runtime.frames.convert``) and
checked with the rules the check stage fails on (``runtime.datachecks.violations``); per
column and check, the share of the window's rows that break it:

- ``type_mismatch``: not of the column's dtype (text for a number, 2.5 for an int);
- ``null``: missing (absent, null or "") where the column is not ``nullable``;
- ``out_of_range``: below ``min`` or above ``max``;
- ``unseen_category``: not among ``allowed`` (a category the model never saw);
- ``pattern_mismatch``: not matching ``regex``.

Uniqueness is a property of a dataset, not of traffic, and is not checked.
"""

from __future__ import annotations

from typing import Any

from mlform.monitoring.result import CheckShare, DataQuality
from mlform.monitoring.window import Window
from mlform.printable import one_line
from mlform.spec import Dataset, Monitor

# The check stage's rule (its spec key) → what the Monitor calls breaking it.
CHECKS = {
    "dtype": "type_mismatch",
    "nullable": "null",
    "min": "out_of_range",
    "max": "out_of_range",
    "allowed": "unseen_category",
    "regex": "pattern_mismatch",
}
EXAMPLES = 5
EXAMPLE_CHARS = 40


def score(
    monitor: Monitor, dataset: Dataset, inputs: list[str], traffic: Window, notes: list[str]
) -> DataQuality:
    import pandas as pd

    from mlform.runtime.datachecks import violations
    from mlform.runtime.frames import convert

    spec = monitor.spec.data_quality
    assert spec is not None
    frame = traffic.inputs()
    rows = len(frame)
    schema = dataset.spec.columns
    checks: list[CheckShare] = []
    skipped: dict[str, str] = {}
    bad = pd.Series(False, index=frame.index)
    for name in spec.columns or inputs:
        column = schema.get(name)
        if column is None:
            skipped[name] = f"not a column of Dataset '{dataset.metadata.name}'"
            continue
        if name not in frame.columns:  # the log does not keep it: nothing to guess from
            skipped[name] = (
                "missing from every record of the window"
                if name in inputs
                else "not a model input: the served requests do not carry it"
            )
            continue
        raw = frame[name]
        raw = raw.astype(object).where(raw.notna() & (raw.astype(str) != ""), None)
        if column.dtype in ("string", "category"):  # the check stage reads text too
            raw = raw.map(lambda v: v if v is None else str(v))
        typed, invalid = convert(raw, column.dtype)
        masks: dict[str, Any] = {}
        for key, mask in violations(typed, invalid, column).items():
            if key == "unique":
                continue  # a property of a whole dataset, not of a window's requests
            check = CHECKS[key]
            masks[check] = masks[check] | mask if check in masks else mask
        override = spec.per_column.get(name)
        for check, mask in masks.items():
            if check == "type_mismatch" and column.dtype in ("string", "category"):
                continue  # any value is text
            count = int(mask.sum())
            threshold = (
                override.max_share
                if override is not None
                else next((v for k, v in spec.thresholds.items() if k == check), spec.max_share)
            )
            checks.append(
                CheckShare(
                    name,
                    check,
                    count,
                    count / rows if rows else 0.0,
                    threshold,
                    _examples(raw, mask),
                )
            )
            bad |= mask
    for name, why in skipped.items():
        notes.append(f"data quality of '{name}' not checked: {why}")
    return DataQuality(rows, checks, int(bad.sum()), spec.max_row_share, skipped)


def _examples(raw: Any, mask: Any) -> list[str]:
    """A few distinct offending values, as text safe to print ('null' for a missing one)."""
    out: list[str] = []
    for value in raw[mask]:
        text = "null" if value is None else one_line(str(value))[:EXAMPLE_CHARS]
        if text not in out:
            out.append(text)
        if len(out) == EXAMPLES:
            break
    return out
