"""The V1 (TensorFlow Serving style) protocol: ``instances`` → the same checked request as
V2's, and the first output as ``predictions``."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlform.serving.errors import bad_request
from mlform.serving.model import ServedModel, as_list
from mlform.serving.protocol import Request, column, json_object, unknown_input


def parse(body: Any, model: ServedModel, max_batch: int) -> Request:
    body = json_object(body, "instances")
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
        raise bad_request(f"instances[{row}]: {unknown_input(extra[0], model)}")
    given = {model.by_name[k].name: v for k, v in instance.items()}
    if len(given) < len(instance):
        raise bad_request(f"instances[{row}] gives an input twice (by name and by column)")
    absent = [t.name for t in model.inputs if t.name not in given]
    if absent:
        raise bad_request(f"instances[{row}] lacks {', '.join(absent)}")
    return given


def response(model: ServedModel, outputs: dict[str, Any]) -> dict[str, Any]:
    first = np.asarray(outputs[model.output_names[0]])
    return {"predictions": as_list(first)}
