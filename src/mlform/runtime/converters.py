"""skl2onnx converters that keep a FeatureSet's numbers in double precision.

A FeatureSet computes its features in float64, exactly as scikit-learn does, and casts them
to float32 only before the estimator. skl2onnx's own converters for three of the steps
work in float32 (onnxruntime's Imputer takes float32 only; KBinsDiscretizer casts its
input to float and outputs float, so a ColumnTransformer that concatenates it with a
double-precision part fails to convert) or not at all (FunctionTransformer with a
function). These replace them for the stock classes the steps are built from (see
``runtime.transformers``); anything else is left to skl2onnx's own converter. Derived
features have their own converter, ``runtime.derived_onnx``, registered here too.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np


def _is_double(variable: Any) -> bool:
    from skl2onnx.common.data_types import DoubleTensorType

    return isinstance(variable.type, DoubleTensorType)


def _dtype(operator: Any) -> Any:
    return np.float64 if _is_double(operator.inputs[0]) else np.float32


def _shift(func: Any) -> float | None:
    """The offset of ``functools.partial(np.add, offset)``, else None."""
    if isinstance(func, functools.partial) and func.func is np.add and len(func.args) == 1:
        return float(func.args[0])
    return None


# --- FunctionTransformer: np.float32, np.clip, np.log, partial(np.add, c) -----------------
def _parse_function(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """Declare the output type while parsing, so what follows a cast is typed float32."""
    from skl2onnx.common.data_types import FloatTensorType, guess_tensor_type

    operator = scope.declare_local_operator("SklearnFunctionTransformer", model)
    operator.inputs = inputs
    kind = FloatTensorType() if model.func is np.float32 else guess_tensor_type(inputs[0].type)
    operator.outputs.append(scope.declare_local_variable("variable", kind))
    return operator.outputs


def _function_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    (source,) = operator.inputs
    func = operator.raw_operator.func
    kind = FloatTensorType if func is np.float32 else source.type.__class__
    operator.outputs[0].type = kind(source.type.shape)


def _convert_function(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxCast, OnnxClip, OnnxIdentity, OnnxLog

    model = operator.raw_operator
    func, version = model.func, container.target_opset
    source, out = operator.inputs[0], operator.outputs[:1]
    dtype = _dtype(operator)
    if func is None:
        node = OnnxIdentity(source, op_version=version, output_names=out)
    elif func is np.float32:
        node = OnnxCast(source, to=TensorProto.FLOAT, op_version=version, output_names=out)
    elif func is np.log:
        node = OnnxLog(source, op_version=version, output_names=out)
    elif func is np.clip:
        args = model.kw_args or {}
        low, high = args.get("a_min"), args.get("a_max")
        low = np.array(np.finfo(dtype).min if low is None else low, dtype=dtype)
        high = np.array(np.finfo(dtype).max if high is None else high, dtype=dtype)
        node = OnnxClip(source, low, high, op_version=version, output_names=out)
    elif _shift(func) is not None:
        offset = np.array([_shift(func)], dtype=dtype)
        node = OnnxAdd(source, offset, op_version=version, output_names=out)
    else:
        raise RuntimeError(f"FunctionTransformer({func!r}) has no ONNX converter")
    node.add_to(scope, container)


# --- SimpleImputer: numeric columns in double, strings by skl2onnx ------------------------
def _imputer_shape(operator: Any) -> None:
    from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes

    if not _is_double(operator.inputs[0]):
        calculate_sklearn_imputer_output_shapes(operator)
        return
    (source,) = operator.inputs
    operator.outputs[0].type = source.type.__class__(source.type.shape)


def _convert_imputer(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxIsNaN, OnnxWhere
    from skl2onnx.operator_converters.imputer_op import convert_sklearn_imputer

    if not _is_double(operator.inputs[0]):
        convert_sklearn_imputer(scope, operator, container)
        return
    model, version = operator.raw_operator, container.target_opset
    values = np.asarray(model.statistics_, dtype=np.float64).reshape(1, -1)
    source = operator.inputs[0]
    node = OnnxWhere(
        OnnxIsNaN(source, op_version=version),
        values,
        source,
        op_version=version,
        output_names=operator.outputs[:1],
    )
    node.add_to(scope, container)


# --- KBinsDiscretizer: bins found in the input's own precision ---------------------------
def _bins_shape(operator: Any) -> None:
    (source,) = operator.inputs
    model = operator.raw_operator
    width = int(sum(model.n_bins_)) if model.encode == "onehot-dense" else len(model.n_bins_)
    operator.outputs[0].type = source.type.__class__([source.type.shape[0], width])


def _convert_bins(scope: Any, operator: Any, container: Any) -> None:
    """scikit-learn's bin of x is searchsorted(inner edges, x, side="right"): the number
    of inner edges <= x; onehot-dense then one column per bin."""
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_ops import (
        OnnxCast,
        OnnxConcat,
        OnnxEqual,
        OnnxGather,
        OnnxGreaterOrEqual,
        OnnxReduceSumApi11,
    )

    model, version = operator.raw_operator, container.target_opset
    dtype = _dtype(operator)
    kind = TensorProto.DOUBLE if dtype is np.float64 else TensorProto.FLOAT
    source = operator.inputs[0]
    columns = []
    for j, edges in enumerate(model.bin_edges_):
        column = OnnxGather(source, np.array([j], dtype=np.int64), axis=1, op_version=version)
        inner = np.asarray(edges[1:-1], dtype=dtype)
        if inner.size == 0:  # a single bin: always 0
            index = OnnxCast(
                OnnxGreaterOrEqual(column, np.array([np.inf], dtype=dtype), op_version=version),
                to=kind,
                op_version=version,
            )
        else:
            above = OnnxCast(
                OnnxGreaterOrEqual(column, inner.reshape(1, -1), op_version=version),
                to=kind,
                op_version=version,
            )
            index = OnnxReduceSumApi11(above, axes=[1], keepdims=1, op_version=version)
        if model.encode == "onehot-dense":
            bins = np.arange(int(model.n_bins_[j]), dtype=dtype).reshape(1, -1)
            index = OnnxCast(
                OnnxEqual(index, bins, op_version=version), to=kind, op_version=version
            )
        columns.append(index)
    node = OnnxConcat(*columns, axis=1, op_version=version, output_names=operator.outputs[:1])
    node.add_to(scope, container)


def register_converters() -> None:
    from skl2onnx import update_registered_converter
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer

    from mlform.runtime import derived_onnx

    derived_onnx.register()
    update_registered_converter(
        FunctionTransformer,
        "SklearnFunctionTransformer",
        _function_shape,
        _convert_function,
        parser=_parse_function,
    )
    update_registered_converter(
        SimpleImputer, "SklearnSimpleImputer", _imputer_shape, _convert_imputer
    )
    update_registered_converter(
        KBinsDiscretizer, "SklearnKBinsDiscretizer", _bins_shape, _convert_bins
    )
