"""Open Inference Protocol (V2) and V1 request bodies → validated input columns, and model
outputs → response bodies. Every rejection says exactly what is wrong (HTTP 400)."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlform.serving import binary
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
    binary_outputs: frozenset[str] = frozenset()  # outputs to answer as binary data (REST)
    # the inputs' values as sent, by input name, when they are exactly what the columns
    # hold (the fast path: floats and strings): the prediction log takes them from here
    values: dict[str, list[Any]] | None = None


def json_object(body: Any, what: str) -> dict[str, Any]:
    """The body as a JSON object (V2's and V1's requests are), or a 400 naming ``what``."""
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


def unknown_input(name: Any, model: ServedModel) -> str:
    """Why ``name`` is not an input of the model, with a did-you-mean."""
    names = [t.name for t in model.inputs]
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown input '{name}'{hint}; the model takes: {', '.join(names)}"


def column(values: Any, tensor: Tensor, datatype: str) -> Any:
    """[N, 1] array of one input column (from a list, or an array of binary data), or a
    400 naming the first bad value."""
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


def _numbers(values: Any, tensor: Tensor) -> Any:
    if type(values) is list and _finite_floats(values):  # the common case, checked at once
        return np.array(values, dtype=np.float64).reshape(-1, 1)
    name = tensor.name
    numbers = (int, float)
    if isinstance(values, np.ndarray):  # binary data: NaN is its missing value
        array = values.astype(np.float64)
        if np.isfinite(array).all():  # the common case: one pass
            return array.reshape(-1, 1)
        missing = np.isnan(array)
        if not tensor.nullable and missing.any():
            row = int(np.argmax(missing))
            raise bad_request(
                f"input '{name}' row {row} is NaN (missing), but the column is not nullable"
            )
    elif all(type(v) in numbers for v in values):  # the common case; bool is not int here
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


class Inputs:
    """A request's input tensors, checked the same way whichever protocol delivered them
    (JSON, binary, gRPC): each a known input given once, with a known datatype and a shape
    of [N] or [N, 1] within the batch limit (checked before its data is read), as many
    values as its shape holds, as many rows as the others, values of the model's type."""

    def __init__(self, model: ServedModel, max_batch: int) -> None:
        self.model = model
        self.max_batch = max_batch
        self.columns: dict[str, Any] = {}
        self.rows: int | None = None

    def expect(self, name: Any, shape: Any, datatype: Any) -> Tensor:
        """The model's tensor for an input's name, shape and datatype (its data not read)."""
        tensor = self.model.by_name.get(name) if isinstance(name, str) else None
        if tensor is None:
            raise bad_request(unknown_input(name, self.model))
        if tensor.name in self.columns:
            raise bad_request(f"input '{name}' is given twice")
        _check_header(name, shape, datatype, self.max_batch)
        return tensor

    def add(
        self, tensor: Tensor, name: str, shape: list[int], datatype: str, values: Any, what: str
    ) -> None:
        """An input's flat values (a list, or an array from binary data); ``what`` names
        them in messages ("'data'", "'contents'")."""
        if len(values) != shape[0]:
            raise bad_request(
                f"input '{name}': shape {shape} holds {shape[0]} values, but {what} has {len(values)}"
            )
        if self.rows is not None and shape[0] != self.rows:
            raise bad_request(
                f"input '{name}' has {shape[0]} rows, but other inputs have {self.rows}"
            )
        self.rows = shape[0]
        self.columns[tensor.name] = column(values, tensor, datatype)

    def request(
        self, identifier: str | None, outputs: list[str] | None, binary: frozenset[str]
    ) -> Request:
        absent = [t.name for t in self.model.inputs if t.name not in self.columns]
        if absent:
            raise bad_request(f"missing input{'s' if len(absent) > 1 else ''}: {', '.join(absent)}")
        if not self.rows:
            raise bad_request("the request has no rows")
        return Request(self.columns, self.rows, identifier, outputs, binary)


def parse_v2(
    body: Any, model: ServedModel, max_batch: int, binary_part: memoryview | None = None
) -> Request:
    """A V2 JSON request, or the JSON header of a binary one with the bytes after it
    (``binary_part``; see ``binary``)."""
    body = json_object(body, "inputs")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise bad_request("'inputs' must be a non-empty array of tensors")
    identifier = body.get("id")
    if identifier is not None and not isinstance(identifier, str):
        raise bad_request("'id' must be a string")
    parts = None if binary_part is None else binary.Parts(binary_part)
    checked = Inputs(model, max_batch)
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise bad_request(
                f"inputs[{index}] must be an object with name, shape, datatype and data"
            )
        missing = [k for k in ("name", "shape", "datatype") if k not in item]
        name = item.get("name")
        size = binary.size_of(str(name), item.get("parameters")) if not missing else None
        if size is None and "data" not in item:
            missing.append("data")
        if missing:
            raise bad_request(f"inputs[{index}] lacks {', '.join(missing)}")
        shape, datatype = item["shape"], item["datatype"]
        tensor = checked.expect(name, shape, datatype)
        name = str(name)  # a known input's name, as given
        if size is None:
            checked.add(tensor, name, shape, datatype, _flatten(item["data"], name), "'data'")
            continue
        if "data" in item:
            raise bad_request(f"input '{name}' has both 'data' and binary_data_size: give one")
        if parts is None:
            raise bad_request(
                f"input '{name}' has binary_data_size, but the request has no "
                "Inference-Header-Content-Length header: its binary data cannot be found"
            )
        values = binary.decode(parts.take(name, size), datatype, shape, name, "binary_data_size is")
        checked.add(tensor, name, shape, datatype, values, "binary data")
    if parts is not None:
        parts.finish()
    outputs, in_binary = _requested_outputs(body, model)
    return checked.request(identifier, outputs, in_binary)


def _requested_outputs(
    body: dict[str, Any], model: ServedModel
) -> tuple[list[str] | None, frozenset[str]]:
    """The outputs asked for (None: all), and those wanted as binary data: each with
    ``"parameters": {"binary_data": true}``, else all if the request's parameters say
    ``"binary_data_output": true``."""
    everything = _flag(body.get("parameters"), "binary_data_output", "the request's")
    wanted = body.get("outputs")
    if wanted is None:
        return None, frozenset(model.output_names if everything else ())
    if not isinstance(wanted, list):
        raise bad_request("'outputs' must be an array of {name}")
    names, in_binary = [], set()
    for item in wanted:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in model.output_names:
            raise bad_request(
                f"unknown output {name!r}; the model gives: {', '.join(model.output_names)}"
            )
        names.append(name)
        flag = _flag(item.get("parameters"), "binary_data", f"output '{name}':")
        if flag or (flag is None and everything):
            in_binary.add(name)
    return names, frozenset(in_binary)


def _flag(parameters: Any, key: str, where: str) -> bool | None:
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise bad_request(f"{where} 'parameters' must be an object")
    value = parameters.get(key)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"{where} parameter {key} must be true or false; got {value!r}")
    return value


def v2_response(
    model: ServedModel, outputs: dict[str, Any], request: Request, identifier: str
) -> tuple[dict[str, Any], list[bytes]]:
    """The response, and the bytes of the outputs asked for in binary (in its order)."""
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for tensor in model.outputs:
        if request.outputs is not None and tensor.name not in request.outputs:
            continue
        values = np.asarray(outputs[tensor.name])
        item: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(values.shape),
        }
        if tensor.name in request.binary_outputs:
            blobs.append(binary.encode(values, tensor.datatype))
            item["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            item["data"] = as_list(values)
        tensors.append(item)
    response = {
        "model_name": model.name,
        "model_version": model.version,
        "id": identifier,
        "outputs": tensors,
    }
    return response, blobs


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
