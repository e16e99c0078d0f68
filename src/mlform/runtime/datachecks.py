"""`mlform stage check DATASET`: the dataset against its column schema and quality checks.

Writes a JSON report — per check: passed, the number of offending values, up to
``MAX_EXAMPLES`` offending rows — and fails the stage when any check fails, so nothing
downstream runs on bad data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mlform import stage_params as P
from mlform.loader import Loc
from mlform.patterns import compile_pattern

if TYPE_CHECKING:
    import pandas as pd

    from mlform.runtime.frames import TypedFrame

MAX_EXAMPLES = 5


@dataclass
class CheckResult:
    check: str
    passed: bool
    loc: Loc  # the spec field the check comes from
    failed: int = 0
    message: str = ""
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "check": self.check,
            "passed": self.passed,
            "failed_count": self.failed,
        }
        if self.message:
            out["message"] = self.message
        if self.examples:
            out["examples"] = self.examples
        return out


def pd_isna(value: Any) -> bool:
    return isinstance(value, float) and value != value  # noqa: PLR0124 - NaN is unequal to itself


def _examples(data: TypedFrame, mask: pd.Series, column: str | None) -> list[dict[str, Any]]:
    rows = mask[mask].index[:MAX_EXAMPLES]
    out = []
    for index in rows:
        entry: dict[str, Any] = {"row": int(index) + data.row_base}
        if column is not None:
            value = data.raw.at[index, column]
            entry["value"] = None if value is None or pd_isna(value) else str(value)
        out.append(entry)
    return out


def _rows(mask: pd.Series, base: int) -> str:
    rows = [str(int(i) + base) for i in mask[mask].index[:MAX_EXAMPLES]]
    more = "" if mask.sum() <= MAX_EXAMPLES else ", …"
    return f"rows {', '.join(rows)}{more}" if len(rows) > 1 else f"row {rows[0]}"


def check_dataset(data: TypedFrame, params: P.DatasetParams) -> list[CheckResult]:
    """Every declared check, in spec order."""
    results: list[CheckResult] = []
    frame = data.frame
    columns = params.columns
    target = params.target
    missing = [c for c in columns if c not in frame.columns]
    for name, spec in columns.items():
        loc: Loc = ("spec", "columns", name)
        if name in missing:
            results.append(
                CheckResult(
                    f"column '{name}' present",
                    False,
                    loc,
                    message=f"column '{name}' is not in the data",
                )
            )
            continue
        results.extend(_column_checks(data, name, spec, loc))
    if target not in frame.columns and target not in missing:
        results.append(
            CheckResult(
                f"target '{target}' present",
                False,
                ("spec", "target"),
                message=f"target column '{target}' is not in the data",
            )
        )
    results.extend(_quality_checks(data, params))
    return results


def _column_checks(data: TypedFrame, name: str, spec: P.Column, loc: Loc) -> list[CheckResult]:
    out: list[CheckResult] = []
    values = data.frame[name]
    bad = data.invalid[name]

    def add(check: str, key: str, mask: pd.Series, message: str) -> None:
        count = int(mask.sum())
        out.append(
            CheckResult(
                f"column '{name}' {check}",
                count == 0,
                (*loc, key),
                count,
                f"{count} value{'s' if count != 1 else ''} {message} ({_rows(mask, data.row_base)})"
                if count
                else "",
                _examples(data, mask, name) if count else [],
            )
        )

    masks = violations(values, bad, spec)
    messages = {
        "dtype": (f"is {spec.dtype}", f"not of dtype {spec.dtype}"),
        "nullable": ("has no missing values", "missing, but the column is not nullable"),
        "min": (f"≥ {spec.min or 0:g}", f"below min {spec.min or 0:g}"),
        "max": (f"≤ {spec.max or 0:g}", f"above max {spec.max or 0:g}"),
        "allowed": (
            "takes allowed values",
            f"not among the allowed values [{', '.join(str(v) for v in spec.allowed or [])}]",
        ),
        "regex": (f"matches /{spec.regex}/", f"not matching /{spec.regex}/"),
        "unique": ("is unique", "duplicated"),
    }
    for key, mask in masks.items():
        add(messages[key][0], key, mask, messages[key][1])
    return out


class ColumnRules(Protocol):
    """A Dataset column's declared rules (the spec's ``Column`` or the stage's params)."""

    @property
    def dtype(self) -> str: ...
    @property
    def nullable(self) -> bool: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def allowed(self) -> list[str | int | float | bool] | None: ...
    @property
    def regex(self) -> str | None: ...
    @property
    def unique(self) -> bool: ...


def violations(values: pd.Series, invalid: pd.Series, spec: ColumnRules) -> dict[str, pd.Series]:
    """Per declared rule (its spec key: dtype, nullable, min, max, allowed, regex, unique),
    the mask of the values that break it; ``values`` typed by ``frames.convert``,
    ``invalid`` its mask of values not of the dtype. What the check stage fails on, what
    the cleaning rules drop and what a Monitor's data quality measures on served traffic."""
    out = {"dtype": invalid}
    present = values.notna() & ~invalid
    if not spec.nullable:
        out["nullable"] = values.isna() & ~invalid
    if spec.min is not None:
        out["min"] = present & (values < spec.min)
    if spec.max is not None:
        out["max"] = present & (values > spec.max)
    if spec.allowed is not None:
        out["allowed"] = present & ~values.isin(_allowed_values(spec.allowed, spec.dtype))
    if spec.regex:
        pattern = compile_pattern(spec.regex)
        matches = values.astype(str).map(lambda v: bool(pattern.fullmatch(v)))
        out["regex"] = present & ~matches
    if spec.unique:
        out["unique"] = present & values.duplicated(keep="first")
    return out


def _allowed_values(allowed: list[Any], dtype: str) -> list[Any]:
    if dtype in ("int", "float", "bool"):
        return [float(v) for v in allowed]
    return [str(v) for v in allowed]


def _quality_checks(data: TypedFrame, params: P.DatasetParams) -> list[CheckResult]:
    frame = data.frame
    checks = params.checks
    out: list[CheckResult] = []
    rows = len(frame)
    duplicates = checks.duplicates
    if duplicates is not None:
        subset = [c for c in duplicates.subset or list(params.columns) if c in frame.columns]
        mask = frame.duplicated(subset=subset, keep="first")
        fraction = float(mask.mean()) if rows else 0.0
        limit = duplicates.max_fraction
        count = int(mask.sum())
        out.append(
            CheckResult(
                "duplicate rows" + (f" on {', '.join(subset)}" if duplicates.subset else ""),
                fraction <= limit,
                ("spec", "checks", "duplicates"),
                count,
                f"{count} duplicate rows ({fraction:.2%}, limit {limit:.2%}; {_rows(mask, data.row_base)})"
                if fraction > limit
                else "",
                _examples(data, mask, None) if fraction > limit else [],
            )
        )
    missing_limit = checks.max_missing_fraction
    if missing_limit is not None:
        for name in params.columns:
            if name not in frame.columns:
                continue
            fraction = float(frame[name].isna().mean()) if rows else 0.0
            out.append(
                CheckResult(
                    f"column '{name}' missing fraction ≤ {missing_limit:g}",
                    fraction <= missing_limit,
                    ("spec", "checks", "max_missing_fraction"),
                    int(frame[name].isna().sum()),
                    f"column '{name}' is {fraction:.2%} missing, over {missing_limit:.2%}"
                    if fraction > missing_limit
                    else "",
                )
            )
    bounds = checks.rows
    if bounds is not None:
        low, high = bounds.min, bounds.max
        ok = (low is None or rows >= low) and (high is None or rows <= high)
        want = " and ".join(
            p
            for p in (
                f"≥ {low}" if low is not None else "",
                f"≤ {high}" if high is not None else "",
            )
            if p
        )
        out.append(
            CheckResult(
                f"row count {want}",
                ok,
                ("spec", "checks", "rows"),
                0 if ok else 1,
                "" if ok else f"{rows} rows, expected {want}",
            )
        )
    return out
