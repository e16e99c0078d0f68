"""Transformers for the `clip` and `log` steps, with their ONNX converters.

scikit-learn's FunctionTransformer only converts to ONNX without a function, so these two
small transformers carry their own converters (registered with skl2onnx on import).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Impute(TransformerMixin, BaseEstimator):
    """Numeric imputation (mean, median, most_frequent, constant) that converts to ONNX in
    double precision (onnxruntime's Imputer operator takes float32 only)."""

    def __init__(self, strategy: str = "median", fill_value: float | None = None) -> None:
        self.strategy = strategy
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> Impute:
        data = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = data.shape[1]
        stats = []
        for column in data.T:
            present = column[~np.isnan(column)]
            if self.strategy == "constant":
                stats.append(float(self.fill_value if self.fill_value is not None else 0.0))
            elif present.size == 0:
                stats.append(0.0)
            elif self.strategy == "mean":
                stats.append(float(present.mean()))
            elif self.strategy == "median":
                stats.append(float(np.median(present)))
            else:
                values, counts = np.unique(present, return_counts=True)
                stats.append(float(values[np.argmax(counts)]))
        self.statistics_ = np.asarray(stats, dtype=np.float64)
        return self

    def transform(self, X: Any) -> Any:
        data = np.array(X, dtype=np.float64)
        return np.where(np.isnan(data), self.statistics_, data)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return _names(self, input_features)


class Float32(TransformerMixin, BaseEstimator):
    """Cast features to float32 before the estimator, so scikit-learn sees what the ONNX
    estimator sees and tree thresholds agree (skl2onnx's CastTransformer does the same, but
    importing skl2onnx costs every stage most of a second)."""

    def fit(self, X: Any, y: Any = None) -> Float32:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X, dtype=np.float32)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return _names(self, input_features)


class Clip(TransformerMixin, BaseEstimator):
    """Clip every column to [lower, upper] (either bound may be None)."""

    def __init__(self, lower: float | None = None, upper: float | None = None) -> None:
        self.lower = lower
        self.upper = upper

    def fit(self, X: Any, y: Any = None) -> Clip:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return np.clip(np.asarray(X, dtype=np.float64), self.lower, self.upper)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return _names(self, input_features)


class Log(TransformerMixin, BaseEstimator):
    """log(x + offset) of every column; offset 1 is log1p."""

    def __init__(self, offset: float = 1.0) -> None:
        self.offset = offset

    def fit(self, X: Any, y: Any = None) -> Log:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> Any:
        return np.log(np.asarray(X, dtype=np.float64) + self.offset)

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        return _names(self, input_features)


def _names(transformer: Any, input_features: Any) -> Any:
    if input_features is None:
        input_features = [f"x{i}" for i in range(transformer.n_features_in_)]
    return np.asarray(input_features, dtype=object)


def _same_shape(operator: Any) -> None:
    (source,) = operator.inputs
    operator.outputs[0].type = source.type.__class__(source.type.shape)


def _dtype(operator: Any) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32


def _float32_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType(operator.inputs[0].type.shape)


def _parse_float32(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """Declare the float32 output while parsing, so the estimator after it is typed float32."""
    from skl2onnx.common.data_types import FloatTensorType

    operator = scope.declare_local_operator("MlformFloat32", model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("cast", FloatTensorType()))
    return operator.outputs


def _convert_float32(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_ops import OnnxCast

    version = container.target_opset
    node = OnnxCast(
        operator.inputs[0],
        to=TensorProto.FLOAT,
        op_version=version,
        output_names=operator.outputs[:1],
    )
    node.add_to(scope, container)


def _convert_impute(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxIsNaN, OnnxWhere

    op: Impute = operator.raw_operator
    version = container.target_opset
    values = op.statistics_.astype(_dtype(operator)).reshape(1, -1)
    source = operator.inputs[0]
    node = OnnxWhere(
        OnnxIsNaN(source, op_version=version),
        values,
        source,
        op_version=version,
        output_names=operator.outputs[:1],
    )
    node.add_to(scope, container)


def _convert_clip(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxClip

    op: Clip = operator.raw_operator
    dtype = _dtype(operator)
    low = np.array(op.lower if op.lower is not None else np.finfo(dtype).min, dtype=dtype)
    high = np.array(op.upper if op.upper is not None else np.finfo(dtype).max, dtype=dtype)
    version = container.target_opset
    node = OnnxClip(
        operator.inputs[0], low, high, op_version=version, output_names=operator.outputs[:1]
    )
    node.add_to(scope, container)


def _convert_log(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxLog

    op: Log = operator.raw_operator
    version = container.target_opset
    offset = np.array([op.offset], dtype=_dtype(operator))
    shifted = OnnxAdd(operator.inputs[0], offset, op_version=version)
    OnnxLog(shifted, op_version=version, output_names=operator.outputs[:1]).add_to(scope, container)


def register_converters() -> None:
    from skl2onnx import update_registered_converter

    update_registered_converter(
        Float32, "MlformFloat32", _float32_shape, _convert_float32, parser=_parse_float32
    )
    update_registered_converter(Impute, "MlformImpute", _same_shape, _convert_impute)
    update_registered_converter(Clip, "MlformClip", _same_shape, _convert_clip)
    update_registered_converter(Log, "MlformLog", _same_shape, _convert_log)
