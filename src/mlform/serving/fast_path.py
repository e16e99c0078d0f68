"""The V2 request almost every client sends, checked at once; anything else goes to
``protocol.parse_v2``, which accepts it or says exactly what is wrong."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlform.serving.model import ServedModel
from mlform.serving.protocol import NUMERIC_TYPES, Request, _finite_floats


def fast_v2(body: Any, model: ServedModel, max_batch: int) -> Request | None:
    """A common, well-formed V2 request checked at once: every input given once by name,
    as ``{"name", "shape", "datatype", "data"}`` with a flat ``data`` of ``[N]`` or
    ``[N, 1]``, numbers (int or float, finite) or strings, no ``outputs``. None for anything
    else: ``parse_v2`` then accepts it or says exactly what is wrong."""
    if type(body) is not dict or "outputs" in body or "parameters" in body:
        return None
    inputs = body.get("inputs")
    identifier = body.get("id")
    if type(inputs) is not list or (identifier is not None and type(identifier) is not str):
        return None
    columns: dict[str, Any] = {}
    values: dict[str, list[Any]] = {}
    rows = -1
    by_name = model.by_name
    for item in inputs:
        if type(item) is not dict or len(item) != 4:
            return None
        name, shape, datatype, data = (
            item.get("name"),
            item.get("shape"),
            item.get("datatype"),
            item.get("data"),
        )
        tensor = by_name.get(name) if type(name) is str else None
        if tensor is None or tensor.name in columns or type(data) is not list:
            return None
        size = len(data)
        if (
            type(shape) is not list
            or not 1 <= len(shape) <= 2
            or type(shape[0]) is not int
            or shape[0] != size
            or (len(shape) == 2 and (type(shape[1]) is not int or shape[1] != 1))
            or not 0 < size <= max_batch
            or rows not in (-1, size)
        ):
            return None
        rows = size
        values[tensor.name] = data
        if tensor.datatype == "BYTES":
            if datatype != "BYTES" or not all(type(v) is str for v in data):
                return None
            columns[tensor.name] = np.array(data, dtype=object).reshape(-1, 1)
        elif datatype in NUMERIC_TYPES and _finite_floats(data):
            columns[tensor.name] = np.array(data, dtype=np.float64).reshape(-1, 1)
        else:
            return None  # ints, nulls, nested data, a wrong type: looked at by parse_v2
    if len(columns) != len(model.inputs):
        return None
    return Request(columns, rows, identifier, None, values=values)
