"""`mlform stage export MODEL`: ONNX through skl2onnx, checked, and proven equal to the
scikit-learn pipeline on the test split (parity), carrying its signature and provenance."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlform.runtime.errors import Problem, StageFailed
from mlform.runtime.frames import NUMERIC
from mlform.stage_params import Parity, to_data
from mlform.version import __version__

# What skl2onnx keeps as it is for an input name; it rewrites any other (``mean radius``
# becomes ``mean_radius``), so the signature says which name each column goes by.
_ONNX_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The names of the model's outputs: an input of the same name would rename them.
RESERVED = frozenset({"label", "probabilities", "variable"})


@dataclass(frozen=True)
class Signature:
    """The ONNX inputs: ``[{name, datatype}]`` in Open Inference Protocol datatypes, and
    ``column``, the dataset column it is fed from, where that is not the name itself."""

    inputs: list[dict[str, str]]

    def initial_types(self) -> list[tuple[str, Any]]:
        from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

        kinds = {"FP64": DoubleTensorType, "BYTES": StringTensorType}
        return [(i["name"], kinds[i["datatype"]]([None, 1])) for i in self.inputs]


def column_of(entry: Mapping[str, Any]) -> str:
    """The dataset column of one signature entry."""
    return str(entry.get("column", entry["name"]))


def input_names(columns: list[str]) -> dict[str, str]:
    """Each column's ONNX input name: the column's own name where ONNX tools keep it as it
    is, else the name with every other character replaced by '_' (a '_' first before a
    digit), numbered from _2 where that is taken."""
    taken = {c for c in columns if _ONNX_NAME.fullmatch(c) and c not in RESERVED}
    names = {c: c for c in columns if c in taken}
    for column in columns:
        if column in names:
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", column) or "_"
        base = f"_{base}" if base[0].isdigit() else base
        name, n = base, 2
        while name in taken or name in RESERVED:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[column] = name
    return names


def signature(dtypes: Mapping[str, str], inputs: list[str]) -> Signature:
    """The ONNX inputs of the model columns ``inputs``, from each column's dtype."""
    names = input_names(inputs)
    entries = []
    for column in inputs:
        entry = {
            "name": names[column],
            # a datetime arrives as seconds since 1970-01-01 UTC (frames.epoch_seconds)
            "datatype": "FP64" if dtypes[column] in (*NUMERIC, "datetime") else "BYTES",
        }
        if names[column] != column:
            entry["column"] = column
        entries.append(entry)
    return Signature(entries)


def feeds(frame: Any, sig: Signature) -> dict[str, Any]:
    """The model frame (dataset column names) as onnxruntime inputs: one [N, 1] tensor per
    input, by its ONNX name."""
    out = {}
    for spec in sig.inputs:
        values = frame[column_of(spec)].to_numpy()
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


def convert(
    pipeline: Any, sig: Signature, opset: int, task: str, training_name: str, featureset: str
) -> Any:
    """The fitted pipeline as a checked ONNX model; a failure names the FeatureSet when its
    transforms do not convert on their own, else the Training's estimator."""
    import onnx
    from skl2onnx import to_onnx

    from mlform.runtime.converters import register_converters

    register_converters()
    pipeline = _by_onnx_name(pipeline, sig)
    options = {id(pipeline.steps[-1][1]): {"zipmap": False}} if task == "classification" else None
    try:
        model = to_onnx(
            pipeline, initial_types=sig.initial_types(), target_opset=opset, options=options
        )
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # skl2onnx raises many types for unsupported models
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where: tuple[str, str, tuple[str | int, ...]] = (
            ("Training", training_name, ("spec", "estimator", "class"))
            if _features_convert(pipeline, sig, opset)
            else ("FeatureSet", featureset, ("spec", "transforms"))
        )
        raise StageFailed(
            "E306",
            *where,
            f"cannot convert this pipeline to ONNX (opset {opset}): {first}",
        ) from None
    return canonical(model)


def _by_onnx_name(pipeline: Any, sig: Signature) -> Any:
    """The pipeline with its ColumnTransformer selecting columns by their ONNX input
    names, which skl2onnx matches them against (a copy: the fitted one stays as it is)."""
    import copy

    names = {column_of(i): i["name"] for i in sig.inputs}
    if all(column == name for column, name in names.items()):
        return pipeline
    renamed = copy.deepcopy(pipeline)
    features = renamed.steps[0][1]
    features.transformers_ = [
        (part, step, [names.get(c, c) for c in columns] if isinstance(columns, list) else columns)
        for part, step, columns in features.transformers_
    ]
    return renamed


def _features_convert(pipeline: Any, sig: Signature, opset: int) -> bool:
    import onnx
    from skl2onnx import to_onnx

    try:
        model = to_onnx(pipeline[:-1], initial_types=sig.initial_types(), target_opset=opset)
        onnx.checker.check_model(model, full_check=True)
    except Exception:  # the same conversion errors as above
        return False
    return True


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
