"""One ONNX model version, loaded in onnxruntime, with the signature clients must follow."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlform.serving.config import ServedVersion

ONNX_TO_V2 = {
    "tensor(double)": "FP64",
    "tensor(float)": "FP32",
    "tensor(string)": "BYTES",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(bool)": "BOOL",
}


@dataclass(frozen=True)
class Tensor:
    name: str
    datatype: str  # V2 datatype
    shape: tuple[int, ...]  # -1 for the batch dimension
    nullable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def verified_bytes(entry: ServedVersion) -> bytes:
    """The ONNX file, read once and checked against the digest registered with the version:
    a file changed in the store since (or another file at its path) is not served."""
    path = Path(entry.path)
    data = path.read_bytes()
    if entry.sha256:
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise ValueError(
                f"{path} has sha256 {actual}, not {entry.sha256} as registered for "
                f"{entry.model}@{entry.version}; it is not served"
            )
    return data


class ServedModel:
    """An onnxruntime session and what it takes and gives."""

    def __init__(self, entry: ServedVersion) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread per run: requests run side by side, and small inputs are faster so.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.entry = entry
        self.session = ort.InferenceSession(
            verified_bytes(entry), options, providers=["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        nullable = json.loads(meta.get("mlform.nullable", "{}"))
        self.inputs = tuple(
            Tensor(
                i.name, ONNX_TO_V2.get(i.type, i.type), (-1, 1), bool(nullable.get(i.name, True))
            )
            for i in self.session.get_inputs()
        )
        self.outputs = tuple(
            Tensor(
                o.name,
                ONNX_TO_V2.get(o.type, o.type),
                tuple(-1 if not isinstance(d, int) else d for d in (o.shape or [-1])),
            )
            for o in self.session.get_outputs()
        )
        # An input whose dataset column is not a valid ONNX name goes by another name
        # (``mean radius`` → ``mean_radius``); requests may give either.
        recorded = json.loads(meta.get("mlform.inputs", "[]"))
        self.columns = {
            str(i["name"]): str(i["column"])
            for i in recorded
            if isinstance(i, dict) and "column" in i and "name" in i
        }
        self.by_name = {t.name: t for t in self.inputs}
        for tensor in self.inputs:
            alias = self.columns.get(tensor.name)
            if alias is not None and alias not in self.by_name:
                self.by_name[alias] = tensor
        # The session's own run: the public wrapper re-checks, on every call, that every
        # input is fed (parse_v2/parse_v1 have) and which execution provider to fall back
        # to (there is one: the CPU), some 3 µs of a 20 µs run.
        self._run = getattr(self.session, "_sess", self.session).run
        self.task = meta.get("mlform.task", "")
        self.classes = json.loads(meta.get("mlform.classes", "[]"))
        self.output_names = [o.name for o in self.outputs]

    @property
    def name(self) -> str:
        return self.entry.model

    @property
    def version(self) -> str:
        return self.entry.version

    def column(self, name: str) -> str:
        """The dataset column of input ``name``."""
        return self.columns.get(name, name)

    def run(self, columns: dict[str, Any]) -> dict[str, Any]:
        """Outputs by name for the given [N, 1] input columns."""
        values = self._run(self.output_names, columns, None)
        return dict(zip(self.output_names, values, strict=True))

    def metadata(self, versions: list[str]) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": versions,
            "platform": "onnxruntime_onnx",
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "properties": {"version": self.version, "sha256": self.entry.sha256, "task": self.task},
        }


def as_list(values: Any) -> list[Any]:
    array = np.asarray(values)
    if array.dtype == object:
        return [v.decode() if isinstance(v, bytes) else str(v) for v in array.ravel().tolist()]
    flat: list[Any] = array.ravel().tolist()
    return flat
