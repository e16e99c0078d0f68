"""Derived features as a scikit-learn transformer: each expression tree evaluated with NumPy
in float64. Its ONNX converter (``runtime.derived_onnx``) builds the same operations from
ONNX operators, so the served model computes what the trained one did.

Semantics, the same in both (docs/spec.md, "Derived features"):

- every value is a float64; a comparison, ``and``, ``or`` and ``not`` give 1.0 or 0.0;
- missing in, missing out: an operation of a missing value (NaN) is missing, a comparison
  too (``income > 0`` of a missing income is missing, not 0), ``where`` of a missing
  condition too;
- a result that is not finite (``x / 0``, ``log(0)``, an overflow) is missing: NaN, which
  the FeatureSet's ``impute`` step then fills like any missing value;
- a datetime is seconds since 1970-01-01 UTC (the ONNX input carries that number); the
  date parts follow the proleptic Gregorian calendar in UTC, ``weekday`` counts Monday 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from mlform.expressions import Column, Node, Number, parse

DAY = 86400.0
Array = Any  # numpy arrays, untyped for mypy


class DerivedFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """``features``: (name, expression) pairs over ``columns``, the input's columns in the
    order they arrive; fit learns nothing, transform gives one float64 column per feature."""

    def __init__(
        self, features: Sequence[tuple[str, str]] = (), columns: Sequence[str] = ()
    ) -> None:
        self.features = features
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> DerivedFeatures:
        self.trees_ = [parse(source) for _, source in self.features]
        index = {c: i for i, c in enumerate(self.columns)}
        for (feature, _), tree in zip(self.features, self.trees_, strict=True):
            if not _names(tree):
                raise ValueError(f"derived feature '{feature}' reads no column")
            for name in _names(tree):
                if name not in index:
                    raise ValueError(f"derived features read column '{name}', not an input")
        self.n_features_in_ = len(self.columns)
        return self

    def transform(self, X: Any) -> Array:
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} columns, got {values.shape}")
        index = {c: i for i, c in enumerate(self.columns)}
        rows = len(values)
        with np.errstate(all="ignore"):
            out = [
                _finite(np.broadcast_to(evaluate(t, lambda c: values[:, index[c]]), (rows,)))
                for t in self.trees_
            ]
        return np.column_stack(out) if out else np.empty((rows, 0))

    def get_feature_names_out(self, input_features: Any = None) -> Array:
        return np.asarray([name for name, _ in self.features], dtype=object)


def _names(tree: Node) -> list[str]:
    from mlform.expressions import columns

    return [c.name for c in columns(tree)]


def _finite(values: Array) -> Array:
    return np.where(np.isinf(values), np.nan, values)


def evaluate(node: Node, column: Callable[[str], Array]) -> Array:
    """The values of ``node``; ``column`` gives a column's values. Call under
    ``np.errstate(all="ignore")``: a division by zero is a value here, not an error."""
    if isinstance(node, Number):
        return np.float64(node.value)
    if isinstance(node, Column):
        return column(node.name)
    args = [evaluate(a, column) for a in node.args]
    return _OPS[node.op](args)


def _missing(values: Array, *operands: Array) -> Array:
    """``values`` with NaN wherever an operand is NaN."""
    mask = np.zeros(np.shape(values), dtype=bool)
    for operand in operands:
        mask = mask | np.isnan(operand)
    return np.where(mask, np.nan, values)


def _flag(values: Array) -> Array:
    return np.asarray(values, dtype=np.float64)


def _compare(op: Callable[[Array, Array], Array]) -> Callable[[list[Array]], Array]:
    return lambda a: _missing(_flag(op(a[0], a[1])), a[0], a[1])


def _clip(a: list[Array]) -> Array:
    x, low, high = a
    return np.where(x < low, low, np.where(x > high, high, x))


def _floordiv(a: Array, b: float) -> Array:
    return np.floor(a / b)


def civil(seconds: Array) -> tuple[Array, Array, Array]:
    """(year, month, day) of seconds since 1970-01-01 UTC: H. Hinnant's civil_from_days,
    in float64 operations that ONNX has (Div, Floor, Mul, Sub, Add, Less, Where)."""
    z = np.floor(seconds / DAY) + 719468.0
    era = _floordiv(z, 146097.0)
    doe = z - era * 146097.0
    yoe = _floordiv(
        doe - _floordiv(doe, 1460.0) + _floordiv(doe, 36524.0) - _floordiv(doe, 146096.0),
        365.0,
    )
    doy = doe - (365.0 * yoe + _floordiv(yoe, 4.0) - _floordiv(yoe, 100.0))
    mp = _floordiv(5.0 * doy + 2.0, 153.0)
    day = doy - _floordiv(153.0 * mp + 2.0, 5.0) + 1.0
    month = np.where(mp < 10.0, mp + 3.0, mp - 9.0)
    year = yoe + era * 400.0 + np.where(month < 3.0, 1.0, 0.0)
    return year, month, day


def _weekday(a: list[Array]) -> Array:
    shifted = np.floor(a[0] / DAY) + 3.0  # 1970-01-01 was a Thursday: Monday is 0
    return shifted - 7.0 * _floordiv(shifted, 7.0)


def _hour(a: list[Array]) -> Array:
    seconds = a[0] - np.floor(a[0] / DAY) * DAY
    return _floordiv(seconds, 3600.0)


_OPS: dict[str, Callable[[list[Array]], Array]] = {
    "+": lambda a: a[0] + a[1],
    "-": lambda a: a[0] - a[1],
    "*": lambda a: a[0] * a[1],
    "/": lambda a: np.divide(a[0], a[1]),
    "**": lambda a: np.power(a[0], a[1]),
    "neg": lambda a: np.negative(a[0]),
    "<": _compare(np.less),
    "<=": _compare(np.less_equal),
    ">": _compare(np.greater),
    ">=": _compare(np.greater_equal),
    "==": _compare(np.equal),
    "!=": _compare(np.not_equal),
    "and": lambda a: _missing(_flag((a[0] != 0) & (a[1] != 0)), a[0], a[1]),
    "or": lambda a: _missing(_flag((a[0] != 0) | (a[1] != 0)), a[0], a[1]),
    "not": lambda a: _missing(_flag(a[0] == 0), a[0]),
    "where": lambda a: _missing(np.where(a[0] != 0, a[1], a[2]), a[0]),
    "clip": _clip,
    "log": lambda a: np.log(a[0]),
    "abs": lambda a: np.abs(a[0]),
    "floor": lambda a: np.floor(a[0]),
    "year": lambda a: civil(a[0])[0],
    "month": lambda a: civil(a[0])[1],
    "day": lambda a: civil(a[0])[2],
    "weekday": _weekday,
    "hour": _hour,
    "days_between": lambda a: (a[0] - a[1]) / DAY,
}


def tree_ops() -> frozenset[str]:
    """Every operator the evaluator knows (the ONNX converter must know the same)."""
    return frozenset(_OPS)
