"""The V2 request almost every client sends, checked at once; anything else goes to
``protocol.parse_v2``, which accepts it or says exactly what is wrong.

This runs on every request, so it is written for CPython's speed: type checks by ``is``,
a one-row request's single value looked at directly (no generator), each column made with
one ``np.array`` and a ``reshape`` by known sizes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlform.serving.model import ServedModel
from mlform.serving.protocol import NUMERIC_TYPES, Request

FLOAT = np.float64


def fast_v2(body: Any, model: ServedModel, max_batch: int) -> Request | None:
    """A common, well-formed V2 request checked at once: every input given once by name,
    as ``{"name", "shape", "datatype", "data"}`` with a flat ``data`` of ``[N]`` or
    ``[N, 1]``, numbers (floats, finite) or strings, no ``outputs``. None for anything
    else: ``parse_v2`` then accepts it or says exactly what is wrong."""
    if type(body) is not dict or "outputs" in body or "parameters" in body:
        return None
    inputs = body.get("inputs")
    identifier = body.get("id")
    if (
        type(inputs) is not list
        or len(inputs) != len(model.inputs)  # then each given once is each given
        or (identifier is not None and type(identifier) is not str)
    ):
        return None
    columns: dict[str, Any] = {}
    values: dict[str, list[Any]] = {}
    rows = -1
    by_name = model.by_name
    for item in inputs:
        if type(item) is not dict or len(item) != 4:
            return None
        name = item.get("name")
        data = item.get("data")
        shape = item.get("shape")
        if type(name) is not str or type(data) is not list or type(shape) is not list:
            return None
        tensor = by_name.get(name)
        if tensor is None or tensor.name in columns:
            return None
        size = len(data)
        if size != rows:
            if rows != -1 or not 0 < size <= max_batch:
                return None
            rows = size
        dims = len(shape)
        first = shape[0] if dims else None
        if type(first) is not int or first != size:
            return None
        if dims != 1 and (dims != 2 or type(shape[1]) is not int or shape[1] != 1):
            return None
        column = _column(tensor.datatype, item.get("datatype"), data, size)
        if column is None:
            return None
        columns[tensor.name] = column
        values[tensor.name] = data
    return Request(columns, rows, identifier, None, values=values)


def _column(kind: str, datatype: Any, data: list[Any], size: int) -> Any:
    """The [N, 1] array of an input of type ``kind`` (the model's) sent as ``datatype``:
    strings, or finite floats; None for anything else (ints, nulls, nested data, huge
    numbers: looked at by ``parse_v2``)."""
    if kind == "BYTES":
        if datatype != "BYTES":
            return None
        if size == 1:
            if type(data[0]) is not str:
                return None
        elif not all(type(v) is str for v in data):
            return None
        return np.array(data, dtype=object).reshape(size, 1)
    if datatype not in NUMERIC_TYPES:
        return None
    if size == 1:
        value = data[0]
        if type(value) is not float or value - value != 0.0:  # inf - inf is NaN
            return None
    elif not (all(type(v) is float for v in data) and math.isfinite(sum(data))):
        return None
    return np.array(data, dtype=FLOAT).reshape(size, 1)
