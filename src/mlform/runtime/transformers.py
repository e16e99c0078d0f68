"""Transformers for the `clip` and `log` steps, with their ONNX converters.

scikit-learn's FunctionTransformer only converts to ONNX without a function, so these two
small transformers carry their own converters (registered with skl2onnx on import).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Clip(TransformerMixin, BaseEstimator):
    """Clip every column to [lower, upper] (either bound may be None)."""

    def __init__(self, lower: float | None = None, upper: float | None = None) -> None:
        self.lower = lower
        self.upper = upper

    def fit(self, X: Any, y: Any = None) -> Clip:  # noqa: N803 - scikit-learn's signature
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:  # noqa: N803
        return np.clip(np.asarray(X, dtype=np.float64), self.lower, self.upper)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return np.asarray(
            input_features
            if input_features is not None
            else [f"x{i}" for i in range(self.n_features_in_)],
            dtype=object,
        )


class Log(TransformerMixin, BaseEstimator):
    """log(x + offset) of every column; offset 1 is log1p."""

    def __init__(self, offset: float = 1.0) -> None:
        self.offset = offset

    def fit(self, X: Any, y: Any = None) -> Log:  # noqa: N803
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:  # noqa: N803
        return np.log(np.asarray(X, dtype=np.float64) + self.offset)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return np.asarray(
            input_features
            if input_features is not None
            else [f"x{i}" for i in range(self.n_features_in_)],
            dtype=object,
        )


def _same_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    (source,) = operator.inputs
    operator.outputs[0].type = FloatTensorType(source.type.shape)


def _convert_clip(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxClip

    op: Clip = operator.raw_operator
    low = np.array(op.lower if op.lower is not None else np.finfo(np.float32).min, dtype=np.float32)
    high = np.array(
        op.upper if op.upper is not None else np.finfo(np.float32).max, dtype=np.float32
    )
    node = OnnxClip(
        operator.inputs[0],
        low,
        high,
        op_version=container.target_opset,
        output_names=operator.outputs[:1],
    )
    node.add_to(scope, container)


def _convert_log(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxLog

    op: Log = operator.raw_operator
    version = container.target_opset
    shifted = OnnxAdd(
        operator.inputs[0], np.array([op.offset], dtype=np.float32), op_version=version
    )
    OnnxLog(shifted, op_version=version, output_names=operator.outputs[:1]).add_to(scope, container)


def register_converters() -> None:
    from skl2onnx import update_registered_converter

    update_registered_converter(Clip, "MlformClip", _same_shape, _convert_clip)
    update_registered_converter(Log, "MlformLog", _same_shape, _convert_log)
