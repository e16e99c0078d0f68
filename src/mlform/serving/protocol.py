"""Open Inference Protocol (V2) and V1 request bodies → validated input columns, and model
outputs → response bodies. Every rejection says exactly what is wrong (HTTP 400)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlform.serving.errors import bad_request
from mlform.serving.model import ServedModel, Tensor, as_list

NUMERIC_TYPES = {
    "FP16",
    "FP32",
    "FP64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
}
ALL_TYPES = NUMERIC_TYPES | {"BOOL", "BYTES"}


@dataclass
class Request:
    columns: dict[str, Any]  # input name → [N, 1] array
    rows: int
    id: str | None
    outputs: list[str] | None  # requested outputs; None for all
    # the inputs' values as sent, by input name, when they are exactly what the columns
    # hold (the fast path: floats and strings): the prediction log takes them from here
    values: dict[str, list[Any]] | None = None


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(f"the request body must be a JSON object with '{what}'")
    return body


def _flatten(data: Any, name: str) -> list[Any]:
    if not isinstance(data, list):
        raise bad_request(f"input '{name}': 'data' must be an array")
    if not data or not isinstance(data[0], list):
        return data
    flat: list[Any] = []
    stack = [data]
    depth_guard = 0
    while stack:
        item = stack.pop()
        depth_guard += 1
        if depth_guard > 10_000_000:
            raise bad_request(f"input '{name}': 'data' is too large")
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            flat.append(item)
    return flat


def _unknown(name: Any, model: ServedModel) -> str:
    names = [t.name for t in model.inputs]
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown input '{name}'{hint}; the model takes: {', '.join(names)}"


def column(values: list[Any], tensor: Tensor, datatype: str) -> Any:
    """[N, 1] array of one input column, or a 400 naming the first bad value."""
    if tensor.datatype == "BYTES":
        if datatype != "BYTES":
            raise bad_request(
                f"input '{tensor.name}' has datatype {datatype}, but the model takes BYTES (strings)"
            )
        return _strings(values, tensor)
    if datatype not in NUMERIC_TYPES:
        raise bad_request(
            f"input '{tensor.name}' has datatype {datatype}, but the model takes "
            f"{tensor.datatype} (numbers)"
        )
    return _numbers(values, tensor)


def _strings(values: list[Any], tensor: Tensor) -> Any:
    out = []
    for row, value in enumerate(values):
        if isinstance(value, str):
            out.append(value)
        elif value is None and tensor.nullable:
            out.append("")
        else:
            what = (
                "null, but the column is not nullable"
                if value is None
                else f"{type(value).__name__} {value!r}, not a string"
            )
            raise bad_request(f"input '{tensor.name}' row {row} is {what}")
    return np.asarray(out, dtype=object).reshape(-1, 1)


def _numbers(values: list[Any], tensor: Tensor) -> Any:
    if _finite_floats(values):  # the common case, checked at once
        return np.array(values, dtype=np.float64).reshape(-1, 1)
    name = tensor.name
    numbers = (int, float)
    if all(type(v) in numbers for v in values):  # the common case; bool is not int here
        array = np.asarray(values, dtype=np.float64)
    else:
        for row, value in enumerate(values):
            if value is None and not tensor.nullable:
                raise bad_request(
                    f"input '{name}' row {row} is null, but the column is not nullable"
                ) from None
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise bad_request(
                    f"input '{name}' row {row} is {type(value).__name__} {value!r}, not a number"
                ) from None
        array = np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)
    if not np.isfinite(array[~np.isnan(array)]).all():
        raise bad_request(f"input '{name}' holds a number too large to be finite")
    return array.reshape(-1, 1)


def _finite_floats(values: Any) -> bool:
    """Whether ``values`` is a list of floats, all finite (a sum of finite floats may
    overflow: then the slow path looks at each value)."""
    return (
        type(values) is list
        and all(type(v) is float for v in values)
        and math.isfinite(sum(values))
    )


def _check_header(name: str, shape: Any, datatype: Any, max_batch: int) -> None:
    """A tensor's datatype and shape: known, [N] or [N, 1], within the batch limit."""
    if (  # the common case, checked at once; anything else is looked at below
        type(shape) is list
        and type(datatype) is str
        and datatype in ALL_TYPES
        and (len(shape) == 1 or (len(shape) == 2 and type(shape[1]) is int and shape[1] == 1))
        and type(shape[0]) is int
        and 0 <= shape[0] <= max_batch
    ):
        return
    if not isinstance(datatype, str) or datatype not in ALL_TYPES:
        raise bad_request(f"input '{name}': unknown datatype {datatype!r}")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise bad_request(f"input '{name}': 'shape' must be an array of non-negative integers")
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise bad_request(
            f"input '{name}': shape {shape} does not fit the model's [-1, 1] (one value per row)"
        )
    if shape[0] > max_batch:
        raise bad_request(
            f"input '{name}': {shape[0]:,} rows is over this server's batch limit of {max_batch:,}"
        )


def parse_v2(body: Any, model: ServedModel, max_batch: int) -> Request:
    body = _object(body, "inputs")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("'inputs' must be a non-empty array of tensors")
    identifier = body.get("id")
    if identifier is not None and not isinstance(identifier, str):
        raise bad_request("'id' must be a string")
    columns: dict[str, Any] = {}
    rows: int | None = None
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise bad_request(
                f"inputs[{index}] must be an object with name, shape, datatype and data"
            )
        missing = [k for k in ("name", "shape", "datatype", "data") if k not in item]
        if missing:
            raise bad_request(f"inputs[{index}] lacks {', '.join(missing)}")
        name, shape, datatype = item["name"], item["shape"], item["datatype"]
        tensor = model.by_name.get(name) if isinstance(name, str) else None
        if tensor is None:
            raise bad_request(_unknown(name, model))
        if tensor.name in columns:
            raise bad_request(f"input '{name}' is given twice")
        _check_header(name, shape, datatype, max_batch)
        data = _flatten(item["data"], name)
        if len(data) != shape[0]:
            raise bad_request(
                f"input '{name}': shape {shape} holds {shape[0]} values, but 'data' has {len(data)}"
            )
        if rows is not None and shape[0] != rows:
            raise bad_request(f"input '{name}' has {shape[0]} rows, but other inputs have {rows}")
        rows = shape[0]
        columns[tensor.name] = column(data, tensor, datatype)
    absent = [t.name for t in model.inputs if t.name not in columns]
    if absent:
        raise bad_request(f"missing input{'s' if len(absent) > 1 else ''}: {', '.join(absent)}")
    if not rows:
        raise bad_request("the request has no rows")
    return Request(columns, rows, identifier, _requested_outputs(body, model))


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
    return Request(columns, rows, identifier, None, values)


def _requested_outputs(body: dict[str, Any], model: ServedModel) -> list[str] | None:
    wanted = body.get("outputs")
    if wanted is None:
        return None
    if not isinstance(wanted, list):
        raise bad_request("'outputs' must be an array of {name}")
    names = []
    for item in wanted:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in model.output_names:
            raise bad_request(
                f"unknown output {name!r}; the model gives: {', '.join(model.output_names)}"
            )
        names.append(name)
    return names


def v2_response(
    model: ServedModel, outputs: dict[str, Any], request: Request, identifier: str
) -> dict[str, Any]:
    tensors = []
    for tensor in model.outputs:
        if request.outputs is not None and tensor.name not in request.outputs:
            continue
        values = np.asarray(outputs[tensor.name])
        tensors.append(
            {
                "name": tensor.name,
                "datatype": tensor.datatype,
                "shape": list(values.shape),
                "data": as_list(values),
            }
        )
    return {
        "model_name": model.name,
        "model_version": model.version,
        "id": identifier,
        "outputs": tensors,
    }


def parse_v1(body: Any, model: ServedModel, max_batch: int) -> Request:
    body = _object(body, "instances")
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise bad_request("'instances' must be a non-empty array")
    if len(instances) > max_batch:
        raise bad_request(
            f"{len(instances):,} instances is over this server's batch limit of {max_batch:,}"
        )
    names = [t.name for t in model.inputs]
    by_column: dict[str, list[Any]] = {n: [] for n in names}
    for row, instance in enumerate(instances):
        if isinstance(instance, dict):
            given = _by_input(instance, row, model)
            for n in names:
                by_column[n].append(given[n])
        elif isinstance(instance, list):
            if len(instance) != len(names):
                raise bad_request(
                    f"instances[{row}] has {len(instance)} values; the model takes {len(names)}: {', '.join(names)}"
                )
            for n, value in zip(names, instance, strict=True):
                by_column[n].append(value)
        else:
            raise bad_request(
                f"instances[{row}] must be an object (column → value) or an array in input order"
            )
    columns = {}
    for tensor in model.inputs:
        values = by_column[tensor.name]
        datatype = "BYTES" if tensor.datatype == "BYTES" else "FP64"
        columns[tensor.name] = column(values, tensor, datatype)
    identifier = body.get("id") if isinstance(body.get("id"), str) else None
    return Request(columns, len(instances), identifier, None)


def _by_input(instance: dict[str, Any], row: int, model: ServedModel) -> dict[str, Any]:
    """A V1 instance's values by input name (each given by its name or its column)."""
    extra = [k for k in instance if k not in model.by_name]
    if extra:
        raise bad_request(f"instances[{row}]: {_unknown(extra[0], model)}")
    given = {model.by_name[k].name: v for k, v in instance.items()}
    if len(given) < len(instance):
        raise bad_request(f"instances[{row}] gives an input twice (by name and by column)")
    absent = [t.name for t in model.inputs if t.name not in given]
    if absent:
        raise bad_request(f"instances[{row}] lacks {', '.join(absent)}")
    return given


def v1_response(model: ServedModel, outputs: dict[str, Any]) -> dict[str, Any]:
    first = np.asarray(outputs[model.output_names[0]])
    return {"predictions": as_list(first)}


MAX_ID_LENGTH = 256


def check_id(value: str, where: str) -> str:
    """A request id as it is echoed in ``X-Request-Id`` and logged: at most 256 printable
    ASCII characters (a CR/LF would split the response header)."""
    if len(value) > MAX_ID_LENGTH or not all(" " <= c <= "~" for c in value):
        shown = repr(value if len(value) <= 60 else value[:60] + "…")
        raise bad_request(
            f"{where} must be at most {MAX_ID_LENGTH} printable ASCII characters; got {shown}"
        )
    return value
