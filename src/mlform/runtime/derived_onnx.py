"""The skl2onnx converter of ``runtime.derived.DerivedFeatures``: each expression tree as
ONNX operators in double precision, operation for operation what the NumPy evaluator does
(same formulas, same NaN rules), so the parity check of the export stage covers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlform.expressions import Column, Node, Number
from mlform.runtime.derived import DAY

NAN = np.array([np.nan], dtype=np.float64)
ZERO = np.array([0.0], dtype=np.float64)


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    (source,) = operator.inputs
    if not isinstance(source.type, DoubleTensorType):
        raise RuntimeError("derived features convert from double inputs only")
    width = len(operator.raw_operator.features)
    operator.outputs[0].type = DoubleTensorType([source.type.shape[0], width])


class _Graph:
    """ONNX nodes for the trees of one DerivedFeatures, sharing one Gather per column."""

    def __init__(self, source: Any, columns: list[str], version: int) -> None:
        from skl2onnx.algebra import onnx_ops

        self.ops = onnx_ops
        self.source = source
        self.index = {c: i for i, c in enumerate(columns)}
        self.version = version
        self.gathered: dict[str, Any] = {}

    def op(self, name: str, *args: Any, **attrs: Any) -> Any:
        return getattr(self.ops, f"Onnx{name}")(*args, op_version=self.version, **attrs)

    def const(self, value: float) -> Any:
        return np.array([value], dtype=np.float64)

    def column(self, name: str) -> Any:
        if name not in self.gathered:
            at = np.array([self.index[name]], dtype=np.int64)
            self.gathered[name] = self.op("Gather", self.source, at, axis=1)
        return self.gathered[name]

    def build(self, node: Node) -> Any:
        if isinstance(node, Number):
            return self.const(node.value)
        if isinstance(node, Column):
            return self.column(node.name)
        args = [self.build(a) for a in node.args]
        return _OPS[node.op](self, args, node.args)

    # --- helpers the operators share ----------------------------------------------------
    def flag(self, boolean: Any) -> Any:
        from onnx import TensorProto

        return self.op("Cast", boolean, to=TensorProto.DOUBLE)

    def missing(self, values: Any, operands: list[Any], nodes: tuple[Node, ...]) -> Any:
        """NaN where an operand is NaN (a literal never is)."""
        masks = [
            self.op("IsNaN", o)
            for o, n in zip(operands, nodes, strict=True)
            if not isinstance(n, Number)
        ]
        if not masks:
            return values
        mask = masks[0]
        for other in masks[1:]:
            mask = self.op("Or", mask, other)
        return self.op("Where", mask, NAN, values)

    def nonzero(self, value: Any) -> Any:
        return self.op("Not", self.op("Equal", value, ZERO))

    def floordiv(self, value: Any, by: float) -> Any:
        return self.op("Floor", self.op("Div", value, self.const(by)))

    def finite(self, value: Any) -> Any:
        return self.op("Where", self.op("IsInf", value), NAN, value)

    def civil(self, seconds: Any) -> tuple[Any, Any, Any]:
        """runtime.derived.civil, the same operations in the same order."""
        c, op, fd = self.const, self.op, self.floordiv
        z = op("Add", fd(seconds, DAY), c(719468.0))
        era = fd(z, 146097.0)
        doe = op("Sub", z, op("Mul", era, c(146097.0)))
        inner = op(
            "Sub",
            op("Add", op("Sub", doe, fd(doe, 1460.0)), fd(doe, 36524.0)),
            fd(doe, 146096.0),
        )
        yoe = fd(inner, 365.0)
        doy = op(
            "Sub",
            doe,
            op("Sub", op("Add", op("Mul", c(365.0), yoe), fd(yoe, 4.0)), fd(yoe, 100.0)),
        )
        mp = fd(op("Add", op("Mul", c(5.0), doy), c(2.0)), 153.0)
        day = op("Add", op("Sub", doy, fd(op("Add", op("Mul", c(153.0), mp), c(2.0)), 5.0)), c(1.0))
        month = op("Where", op("Less", mp, c(10.0)), op("Add", mp, c(3.0)), op("Sub", mp, c(9.0)))
        early = op("Where", op("Less", month, c(3.0)), c(1.0), c(0.0))
        year = op("Add", op("Add", yoe, op("Mul", era, c(400.0))), early)
        return year, month, day


Build = Callable[[_Graph, list[Any], tuple[Node, ...]], Any]


def _binary(name: str) -> Build:
    return lambda g, a, n: g.op(name, a[0], a[1])


def _compare(name: str, negate: bool = False) -> Build:
    def build(g: _Graph, a: list[Any], n: tuple[Node, ...]) -> Any:
        test = g.op(name, a[0], a[1])
        return g.missing(g.flag(g.op("Not", test) if negate else test), a, n)

    return build


def _logical(name: str) -> Build:
    return lambda g, a, n: g.missing(g.flag(g.op(name, g.nonzero(a[0]), g.nonzero(a[1]))), a, n)


def _clip(g: _Graph, a: list[Any], n: tuple[Node, ...]) -> Any:
    x, low, high = a
    return g.op(
        "Where", g.op("Less", x, low), low, g.op("Where", g.op("Greater", x, high), high, x)
    )


def _weekday(g: _Graph, a: list[Any], n: tuple[Node, ...]) -> Any:
    shifted = g.op("Add", g.floordiv(a[0], DAY), g.const(3.0))
    return g.op("Sub", shifted, g.op("Mul", g.const(7.0), g.floordiv(shifted, 7.0)))


def _hour(g: _Graph, a: list[Any], n: tuple[Node, ...]) -> Any:
    seconds = g.op("Sub", a[0], g.op("Mul", g.floordiv(a[0], DAY), g.const(DAY)))
    return g.floordiv(seconds, 3600.0)


_OPS: dict[str, Build] = {
    "+": _binary("Add"),
    "-": _binary("Sub"),
    "*": _binary("Mul"),
    "/": _binary("Div"),
    "**": _binary("Pow"),
    "neg": lambda g, a, n: g.op("Neg", a[0]),
    "<": _compare("Less"),
    "<=": _compare("LessOrEqual"),
    ">": _compare("Greater"),
    ">=": _compare("GreaterOrEqual"),
    "==": _compare("Equal"),
    "!=": _compare("Equal", negate=True),
    "and": _logical("And"),
    "or": _logical("Or"),
    "not": lambda g, a, n: g.missing(g.flag(g.op("Equal", a[0], ZERO)), a, n),
    "where": lambda g, a, n: g.missing(g.op("Where", g.nonzero(a[0]), a[1], a[2]), a[:1], n[:1]),
    "clip": _clip,
    "log": lambda g, a, n: g.op("Log", a[0]),
    "abs": lambda g, a, n: g.op("Abs", a[0]),
    "floor": lambda g, a, n: g.op("Floor", a[0]),
    "year": lambda g, a, n: g.civil(a[0])[0],
    "month": lambda g, a, n: g.civil(a[0])[1],
    "day": lambda g, a, n: g.civil(a[0])[2],
    "weekday": _weekday,
    "hour": _hour,
    "days_between": lambda g, a, n: g.op("Div", g.op("Sub", a[0], a[1]), g.const(DAY)),
}


def _convert(scope: Any, operator: Any, container: Any) -> None:
    model = operator.raw_operator
    graph = _Graph(operator.inputs[0], list(model.columns), container.target_opset)
    # every tree reads a column (validate and fit refuse one that does not), so each
    # value is [N, 1] by broadcasting
    outputs = [graph.finite(graph.build(tree)) for tree in model.trees_]
    node = graph.op("Concat", *outputs, axis=1, output_names=operator.outputs[:1])
    node.add_to(scope, container)


def ops() -> frozenset[str]:
    """The operators this converter knows (tests check it is the evaluator's set)."""
    return frozenset(_OPS)


def register() -> None:
    from skl2onnx import update_registered_converter

    from mlform.runtime.derived import DerivedFeatures

    update_registered_converter(DerivedFeatures, "MlformDerivedFeatures", _shape, _convert)
