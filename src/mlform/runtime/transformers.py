"""The steps of a FeatureSet that scikit-learn has no class of its own for, built from stock
scikit-learn and NumPy alone.

A trained pipeline holds nothing from mlform, so it loads wherever scikit-learn does (a
stock MLServer image with mlserver-sklearn, a notebook without mlform). ``clip``, ``log``
and the float32 cast are ``FunctionTransformer`` s of NumPy functions; numeric imputation
is ``SimpleImputer``. Their double-precision ONNX converters are in ``runtime.converters``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


def float32() -> Any:
    """Cast features to float32 before the estimator, so scikit-learn sees what the ONNX
    estimator sees and tree thresholds agree."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(np.float32, feature_names_out="one-to-one")


def impute(strategy: str, fill_value: float | None) -> Any:
    """Numeric imputation; a column with no value at all is filled with 0 (or the
    constant), not dropped, so the number of features never depends on the data."""
    from sklearn.impute import SimpleImputer

    return SimpleImputer(
        missing_values=np.nan,
        strategy=strategy,
        fill_value=fill_value,
        keep_empty_features=True,
    )


def clip(lower: float | None, upper: float | None) -> Any:
    """Clip every column to [lower, upper] (either bound may be None, not both)."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(
        np.clip,
        kw_args={"a_min": _bound(lower), "a_max": _bound(upper)},
        feature_names_out="one-to-one",
    )


def log(offset: float) -> Any:
    """log(x + offset): add the offset, then take the log, the same two operations the
    ONNX graph runs, so both round alike."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    take = FunctionTransformer(np.log, feature_names_out="one-to-one")
    if not offset:
        return take
    shift = functools.partial(np.add, float(offset))
    return Pipeline(
        [("shift", FunctionTransformer(shift, feature_names_out="one-to-one")), ("log", take)]
    )


def _bound(value: float | None) -> float | None:
    return None if value is None else float(value)
