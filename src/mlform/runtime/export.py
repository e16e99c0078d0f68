"""`mlform stage export MODEL`: ONNX through skl2onnx, checked, and proven equal to the
scikit-learn pipeline on the test split (parity), carrying its signature and provenance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlform.runtime.errors import Problem, StageFailed
from mlform.runtime.frames import NUMERIC
from mlform.stage_params import Parity, to_data
from mlform.version import __version__


@dataclass(frozen=True)
class Signature:
    inputs: list[dict[str, str]]  # [{name, datatype}] in Open Inference Protocol datatypes

    def initial_types(self) -> list[tuple[str, Any]]:
        from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

        kinds = {"FP64": DoubleTensorType, "BYTES": StringTensorType}
        return [(i["name"], kinds[i["datatype"]]([None, 1])) for i in self.inputs]


def signature(dtypes: Mapping[str, str], inputs: list[str]) -> Signature:
    """The ONNX inputs of the model columns ``inputs``, from each column's dtype."""
    return Signature(
        [{"name": c, "datatype": "FP64" if dtypes[c] in NUMERIC else "BYTES"} for c in inputs]
    )


def feeds(frame: Any, sig: Signature) -> dict[str, Any]:
    """The model frame as onnxruntime inputs: one [N, 1] tensor per column."""
    out = {}
    for spec in sig.inputs:
        values = frame[spec["name"]].to_numpy()
        out[spec["name"]] = (
            values.astype(np.float64)
            if spec["datatype"] == "FP64"
            else values.astype(str).astype(object)
        ).reshape(-1, 1)
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert(pipeline: Any, sig: Signature, opset: int, task: str, training_name: str) -> Any:
    import onnx
    from skl2onnx import to_onnx

    from mlform.runtime.transformers import register_converters

    register_converters()
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}} if task == "classification" else None
    try:
        model = to_onnx(
            pipeline, initial_types=sig.initial_types(), target_opset=opset, options=options
        )
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # skl2onnx raises many types for unsupported models
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StageFailed(
            "E306",
            "Training",
            training_name,
            ("spec", "estimator", "class"),
            f"cannot convert this pipeline to ONNX (opset {opset}): {first}",
        ) from None
    return canonical(model)


def canonical(model: Any) -> Any:
    """The same bytes in every process: skl2onnx collects the operator domains in a set,
    so their order in ``opset_import`` follows the hash seed; sort them by domain."""
    imports = sorted(model.opset_import, key=lambda o: (o.domain, o.version))
    copies = [type(o)(domain=o.domain, version=o.version) for o in imports]
    del model.opset_import[:]
    model.opset_import.extend(copies)
    return model


def read_metadata(path: Path) -> dict[str, Any]:
    """What ``annotate`` wrote into an ONNX file (signature, task, classes, provenance)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    out: dict[str, Any] = {}
    for prop in model.metadata_props:
        key = prop.key.removeprefix("mlform.")
        try:
            out[key] = json.loads(prop.value)
        except json.JSONDecodeError:
            out[key] = prop.value
    return out


def annotate(model: Any, metadata: dict[str, Any]) -> None:
    import onnx

    model.producer_name = "mlform"
    model.producer_version = __version__
    model.doc_string = str(metadata.get("description", ""))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = (
            f"mlform.{key}",
            value if isinstance(value, str) else json.dumps(value, sort_keys=True),
        )
    onnx.checker.check_model(model)


def parity(
    session: Any, pipeline: Any, X: Any, sig: Signature, task: str, tolerance: Parity
) -> dict[str, Any]:
    outputs = session.run(None, feeds(X, sig))
    rows = len(X)
    if task == "classification":
        labels, probabilities = outputs[0], outputs[1]
        agreement = float(
            np.mean(np.asarray(labels).ravel() == np.asarray(pipeline.predict(X)).ravel())
        )
        diff = (
            float(np.max(np.abs(probabilities - pipeline.predict_proba(X))))
            if hasattr(pipeline, "predict_proba")
            else 0.0
        )
    else:
        agreement = 1.0
        diff = float(np.max(np.abs(np.asarray(outputs[0]).ravel() - pipeline.predict(X))))
    passed = diff <= tolerance.max_abs_diff and agreement >= tolerance.min_label_agreement
    return {
        "rows": rows,
        "label_agreement": agreement,
        "max_abs_diff": diff,
        "tolerance": to_data(tolerance),
        "passed": passed,
    }


def parity_problems(result: dict[str, Any], model_name: str) -> list[Problem]:
    tolerance = result["tolerance"]
    problems = []
    if result["max_abs_diff"] > tolerance["max_abs_diff"]:
        problems.append(
            Problem(
                "E307",
                "Model",
                model_name,
                ("spec", "export", "parity", "max_abs_diff"),
                f"ONNX and scikit-learn differ by up to {result['max_abs_diff']:.3g} on the test split, over the tolerance {tolerance['max_abs_diff']:g}",
            )
        )
    if result["label_agreement"] < tolerance["min_label_agreement"]:
        problems.append(
            Problem(
                "E307",
                "Model",
                model_name,
                ("spec", "export", "parity", "min_label_agreement"),
                f"ONNX and scikit-learn agree on {result['label_agreement']:.2%} of test labels, under {tolerance['min_label_agreement']:.2%}",
            )
        )
    return problems
