"""Derived features' expression language: parsed into a tree by mlform's own parser (no
``eval``), kind-checked, and compiled by ``runtime.derived`` to NumPy and ONNX."""

from mlform.expressions.functions import (
    BINARY,
    DATETIME,
    FUNCTIONS,
    NUMBER,
    columns,
    dataset_columns,
    inline,
    kind_of,
    to_source,
)
from mlform.expressions.syntax import (
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    Column,
    ExpressionError,
    Node,
    Number,
    Op,
    parse,
)

__all__ = [
    "BINARY",
    "DATETIME",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "NUMBER",
    "Column",
    "ExpressionError",
    "Node",
    "Number",
    "Op",
    "columns",
    "dataset_columns",
    "inline",
    "kind_of",
    "parse",
    "to_source",
]
