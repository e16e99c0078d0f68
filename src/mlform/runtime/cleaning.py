"""`mlform stage clean DATASET`: the Dataset's cleaning rules, in order, on the source.

Each rule sees the rows the previous ones kept. The kept rows are written as they were read
(clipped values replaced), with the source's row numbers, so the checks after cleaning
report the rows a person finds in the source file. The report counts, per rule, the rows
removed and the values clipped, with a few example rows; the stage fails when the rules
together would remove more than ``max_removed_fraction`` of the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mlform import conditions as C
from mlform import stage_params as P
from mlform.loader import Loc
from mlform.runtime.datachecks import MAX_EXAMPLES, pd_isna, violations
from mlform.runtime.errors import StageFailed

if TYPE_CHECKING:
    import pandas as pd

    from mlform.runtime.frames import TypedFrame

MAX_VALUE_CHARS = 200  # an example value longer than this is cut: reports stay readable


@dataclass
class RuleResult:
    index: int  # 0-based, in spec order
    kind: str
    summary: str
    removed: int = 0
    clipped: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """How the report names the rule: ``1-drop_duplicates`` (rules count from 1)."""
        return f"{self.index + 1}-{self.kind}"

    @property
    def clips(self) -> bool:
        return self.kind == "outside_schema"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.key, "does": self.summary, "removed": self.removed}
        if self.clips:
            out["clipped"] = self.clipped
        out["examples"] = self.examples
        return out


@dataclass(frozen=True)
class Cleaned:
    data: TypedFrame  # the kept rows: raw as read (clipped values replaced) and typed
    rows_before: int
    results: list[RuleResult]

    @property
    def removed(self) -> int:
        return self.rows_before - len(self.data.frame)

    @property
    def removed_fraction(self) -> float:
        return self.removed / self.rows_before if self.rows_before else 0.0


def clean(data: TypedFrame, params: P.DatasetParams, name: str) -> Cleaned:
    """Every rule of ``params.cleaning``, in order; raises StageFailed for a condition that
    names a column the data does not have."""
    assert params.cleaning is not None
    results = []
    rows = len(data.frame)
    for index, rule in enumerate(params.cleaning.rules):
        loc: Loc = ("spec", "cleaning", "rules", index)
        data, result = _apply(data, params, rule, index, loc, name)
        results.append(result)
    return Cleaned(data, rows, results)


def check_bound(cleaned: Cleaned, params: P.DatasetParams, name: str) -> None:
    """StageFailed when the rules would remove more than ``max_removed_fraction``."""
    assert params.cleaning is not None
    limit = params.cleaning.max_removed_fraction
    if cleaned.removed_fraction <= limit:
        return
    counts = ", ".join(
        f"rule {r.index + 1} {r.kind} {r.removed:,}" for r in cleaned.results if r.removed
    )
    raise StageFailed(
        "E302",
        "Dataset",
        name,
        ("spec", "cleaning", "max_removed_fraction"),
        f"cleaning would remove {cleaned.removed:,} of {cleaned.rows_before:,} rows "
        f"({cleaned.removed_fraction:.2%}), over max_removed_fraction {limit:.2%} ({counts}); "
        "the cleaned data is not written: fix the data or the rules, or raise the bound",
    )


def metrics(cleaned: Cleaned, params: P.DatasetParams) -> dict[str, Any]:
    """cleaning.json, a DVC metric: only counts, so ``dvc metrics show`` lists them."""
    assert params.cleaning is not None
    limit = params.cleaning.max_removed_fraction
    return {
        "passed": cleaned.removed_fraction <= limit,
        "rows_before": cleaned.rows_before,
        "rows_after": len(cleaned.data.frame),
        "removed": cleaned.removed,
        "removed_fraction": round(cleaned.removed_fraction, 6),
        "max_removed_fraction": limit,
        "clipped": sum(r.clipped for r in cleaned.results),
        "rules": {
            r.key: {"removed": r.removed, **({"clipped": r.clipped} if r.clips else {})}
            for r in cleaned.results
        },
    }


def report(cleaned: Cleaned, params: P.DatasetParams, name: str) -> dict[str, Any]:
    """cleaning_report.json: what each rule did, in words, with example rows."""
    return {
        "dataset": name,
        "source": params.source.path,
        **metrics(cleaned, params),
        "rules": [r.to_json() for r in cleaned.results],
    }


# --- the rules ---------------------------------------------------------------------------
def _apply(
    data: TypedFrame, params: P.DatasetParams, rule: P.Rule, index: int, loc: Loc, name: str
) -> tuple[TypedFrame, RuleResult]:
    kind = rule.kind
    present = [c for c in params.columns if c in data.frame.columns]
    if rule.drop_duplicates is not None:
        subset = [c for c in rule.drop_duplicates.subset or present if c in data.frame.columns]
        shown = f"on {', '.join(subset)}" if rule.drop_duplicates.subset else "(every column)"
        result = RuleResult(index, kind, f"drop duplicate rows {shown}, keeping the first")
        if not subset:
            return data, result
        mask = data.frame.duplicated(subset=subset, keep="first")
        return _drop(data, mask, subset, result)
    if rule.drop_missing_target is not None:
        target = params.target
        result = RuleResult(index, kind, f"drop rows whose target '{target}' is missing")
        if target not in data.frame.columns:
            return data, result  # the check stage reports the missing column
        mask = data.frame[target].isna()
        if target in data.invalid:
            mask |= data.invalid[target]
        return _drop(data, mask, [target], result)
    if rule.outside_schema is not None:
        schema = rule.outside_schema
        result = RuleResult(index, kind, _schema_summary(schema, params))
        if schema.action == "clip":
            return _clip(data, params, schema, result)
        return _drop_outside(data, params, schema, result)
    assert rule.drop_where is not None
    where = rule.drop_where
    text = f"drop rows where {where.condition}" + (
        f" ({where.description})" if where.description else ""
    )
    result = RuleResult(index, kind, text)
    mask, used = _where(data, params, where.condition, (*loc, "drop_where", "condition"), name)
    return _drop(data, mask, used, result)


def _schema_summary(schema: P.OutsideSchema, params: P.DatasetParams) -> str:
    verb = "clip values" if schema.action == "clip" else "drop rows with a value"
    every = schema.columns == list(params.columns)
    return (
        f"{verb} outside the column schema ({', '.join(schema.constraints)}) "
        f"{'in every column' if every else 'in ' + ', '.join(schema.columns)}"
    )


def _drop(
    data: TypedFrame,
    mask: pd.Series,
    shown: list[str],
    result: RuleResult,
    broken: dict[str, pd.Series] | None = None,
) -> tuple[TypedFrame, RuleResult]:
    """``data`` without the rows of ``mask``; examples show the values of ``shown`` (or
    of the columns whose value is ``broken`` in that row)."""
    result.removed = int(mask.sum())
    for i in mask[mask].index[:MAX_EXAMPLES]:
        columns = shown if broken is None else [c for c, hit in broken.items() if hit.at[i]]
        result.examples.append(
            {
                "row": int(i) + data.row_base,
                "values": {c: _value(data.raw.at[i, c]) for c in columns},
            }
        )
    if not result.removed:
        return data, result
    keep = ~mask
    return (
        replace(
            data,
            frame=data.frame[keep],
            raw=data.raw[keep],
            invalid={c: m[keep] for c, m in data.invalid.items()},
        ),
        result,
    )


def _drop_outside(
    data: TypedFrame, params: P.DatasetParams, schema: P.OutsideSchema, result: RuleResult
) -> tuple[TypedFrame, RuleResult]:
    import pandas as pd

    mask = pd.Series(False, index=data.frame.index)
    broken: dict[str, pd.Series] = {}  # column → mask of its values that break a constraint
    for column in schema.columns:
        if column not in data.frame.columns or column not in params.columns:
            continue  # the check stage reports a declared column the data lacks
        masks = violations(data.frame[column], data.invalid[column], params.columns[column])
        hit = pd.Series(False, index=data.frame.index)
        for constraint in schema.constraints:
            if constraint in masks:
                hit |= masks[constraint]
        broken[column] = hit
        mask |= hit
    return _drop(data, mask, [], result, broken)


def _clip(
    data: TypedFrame, params: P.DatasetParams, schema: P.OutsideSchema, result: RuleResult
) -> tuple[TypedFrame, RuleResult]:
    frame, raw = data.frame.copy(), data.raw.copy()
    text = params.source.format == "csv"  # values as read are text; a parquet's are typed
    for column in schema.columns:
        spec = params.columns.get(column)
        if spec is None or column not in frame.columns or spec.dtype not in ("int", "float"):
            continue
        values = frame[column]
        present = values.notna() & ~data.invalid[column]
        for constraint in schema.constraints:
            bound = spec.min if constraint == "min" else spec.max
            if bound is None:
                continue
            if spec.dtype == "int":  # the nearest whole number inside the bound
                bound = float(math.ceil(bound) if constraint == "min" else math.floor(bound))
            mask = present & ((values < bound) if constraint == "min" else (values > bound))
            count = int(mask.sum())
            if not count:
                continue
            result.clipped += count
            shown = _number(bound, spec.dtype)
            for i in mask[mask].index[: MAX_EXAMPLES - len(result.examples)]:
                result.examples.append(
                    {
                        "row": int(i) + data.row_base,
                        "column": column,
                        "value": _value(raw.at[i, column]),
                        "clipped_to": shown,
                    }
                )
            frame[column] = values.mask(mask, int(bound) if spec.dtype == "int" else bound)
            values = frame[column]
            raw[column] = raw[column].mask(
                mask, shown if text else _typed_bound(raw[column], bound)
            )
    return replace(data, frame=frame, raw=raw), result


def _number(value: float, dtype: str) -> str:
    return str(int(value)) if dtype == "int" else repr(float(value))


def _typed_bound(column: pd.Series, bound: float) -> int | float:
    import pandas as pd

    return int(bound) if pd.api.types.is_integer_dtype(column) else bound


def _value(value: Any) -> str | None:
    if value is None or pd_isna(value):
        return None
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


# --- conditions --------------------------------------------------------------------------
def _where(
    data: TypedFrame, params: P.DatasetParams, condition: str, loc: Loc, name: str
) -> tuple[pd.Series, list[str]]:
    """(mask of the rows where ``condition`` holds, the columns it names)."""
    try:
        tree = C.parse(condition)  # params.yaml may have been edited by `dvc exp run -S`
    except C.ConditionInvalid as invalid:
        raise StageFailed(
            "E302", "Dataset", name, loc, C.invalid_message(condition, invalid)
        ) from None
    used = list(dict.fromkeys(c.name for c in C.columns(tree)))
    absent = [c for c in used if c not in data.frame.columns]
    if absent:
        raise StageFailed("E302", "Dataset", name, loc, f"column '{absent[0]}' is not in the data")
    try:
        return _holds(tree, data), used
    except TypeError as exc:
        raise StageFailed(
            "E302", "Dataset", name, loc, f"cannot evaluate {condition!r}: {exc}"
        ) from None


def _holds(tree: C.Node, data: TypedFrame) -> pd.Series:
    if isinstance(tree, C.Missing):
        missing = _known(data, tree.column.name).isna()
        return ~missing if tree.negated else missing
    if isinstance(tree, C.Compare):
        return _compare(tree, data)
    if isinstance(tree, C.Not):
        return ~_holds(tree.operand, data)
    masks = [_holds(operand, data) for operand in tree.operands]
    out = masks[0]
    for mask in masks[1:]:
        out = (out | mask) if isinstance(tree, C.Or) else (out & mask)
    return out


def _known(data: TypedFrame, column: str) -> pd.Series:
    """The column's typed values, a value that is not of the dtype counted as missing."""
    values = data.frame[column]
    bad = data.invalid.get(column)
    return values if bad is None else values.mask(bad)


def _compare(test: C.Compare, data: TypedFrame) -> pd.Series:
    import operator

    import pandas as pd

    ops = {
        "==": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }
    left = _known(data, test.column.name)
    known = left.notna()
    if isinstance(test.other, C.Column):
        right: Any = _known(data, test.other.name)
        known &= right.notna()
    else:
        right = test.other.value
        if isinstance(right, str) and pd.api.types.is_datetime64_any_dtype(left):
            right = pd.Timestamp(right)
    result = ops[test.op](left, right)
    return known & result.fillna(False).astype(bool)
