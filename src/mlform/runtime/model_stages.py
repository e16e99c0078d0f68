"""`mlform stage export MODEL` and `mlform stage review MODEL`: the trained pipeline as ONNX
with proven parity, then every review gate and the model card."""

from __future__ import annotations

import json
import os
from typing import Any

from mlform import stage_params as P
from mlform.runtime.context import StageContext
from mlform.runtime.errors import StageFailed
from mlform.runtime.stage_io import REPORT_ONLY, load_pipeline, read_parquet, xy


def _model_chain(
    ctx: StageContext, name: str
) -> tuple[P.ModelParams, str, P.TrainingParams, P.DatasetParams]:
    model = ctx.model(name)
    training = ctx.training(model.training)
    return model, model.training, training, ctx.dataset(training.dataset)


def export(ctx: StageContext, name: str) -> str:
    import hashlib

    import onnxruntime as ort

    from mlform.runtime.export import (
        annotate,
        column_of,
        convert,
        parity,
        parity_problems,
        sha256_file,
        signature,
    )
    from mlform.runtime.frames import dtypes
    from mlform.runtime.outputs import write_bytes, write_json
    from mlform.version import __version__

    model, training_name, training, dataset = _model_chain(ctx, name)
    pipeline = load_pipeline(ctx, training_name)
    _, X, _ = xy(ctx, training, "test")
    sig = signature(dtypes(dataset), ctx.inputs(training))
    onnx_model = convert(
        pipeline, sig, model.export.opset, training.task, training_name, training.features
    )
    chain = {
        "dataset": P.to_data(dataset),
        "featureset": P.to_data(ctx.featureset(training.features)),
        "training": P.to_data(training),
        "export": P.to_data(model.export),
    }
    outputs = [{"name": o.name} for o in onnx_model.graph.output]
    annotate(
        onnx_model,
        {
            "model": name,
            "training": training_name,
            "task": training.task,
            "mlform_version": __version__,
            "spec_hash": hashlib.sha256(json.dumps(chain, sort_keys=True).encode()).hexdigest(),
            "training_data_hash": sha256_file(ctx.path(ctx.dataset_paths(training.dataset).train)),
            "inputs": sig.inputs,
            "nullable": {i["name"]: dataset.columns[column_of(i)].nullable for i in sig.inputs},
            "outputs": outputs,
            "classes": [
                c.item() if hasattr(c, "item") else c for c in getattr(pipeline, "classes_", [])
            ],
        },
    )
    payload = onnx_model.SerializeToString()
    try:
        session = ort.InferenceSession(payload, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime lacks a kernel for an operator or type
        first = str(exc).strip().splitlines()[0]
        raise StageFailed(
            "E306",
            "Training",
            training_name,
            ("spec", "estimator", "class"),
            f"onnxruntime cannot run the converted model: {first}",
        ) from None
    result = parity(session, pipeline, X, sig, training.task, model.export.parity)
    paths = ctx.model_paths(name)
    write_json(ctx.path(paths.parity), result)
    problems = parity_problems(result, name)
    if problems:
        raise StageFailed.of(problems)
    write_bytes(ctx.path(paths.onnx), payload)
    return f"Model '{name}': ONNX opset {model.export.opset}, {len(payload) / 1024:.0f} KiB; parity on {result['rows']:,} rows: max |Δ| {result['max_abs_diff']:.2g}, labels agree {result['label_agreement']:.2%}."


def review(ctx: StageContext, name: str) -> str:
    from mlform.render import render
    from mlform.runtime import review as gates_
    from mlform.runtime import svg
    from mlform.runtime.evaluate import metrics, predict
    from mlform.runtime.export import sha256_file, signature
    from mlform.runtime.frames import dtypes
    from mlform.runtime.outputs import write_json, write_text

    model, training_name, training, dataset = _model_chain(ctx, name)
    spec = model.gates
    paths = ctx.model_paths(name)
    pipeline = load_pipeline(ctx, training_name)
    frame, X, y = xy(ctx, training, "test")
    values = json.loads(ctx.path(ctx.training_paths(training_name).metrics).read_text())
    sha256 = sha256_file(ctx.path(paths.onnx))
    gates: list[gates_.Gate] = gates_.metric_gates(values, spec.metrics)
    if spec.no_regression:
        gates.append(_no_regression(ctx, name, spec.no_regression, X, y, training, values))
    predictions = predict(pipeline, X, y, training.task)
    fairness = None
    if spec.fairness and training.task == "classification":
        sensitive = {f: frame[f] for f in spec.fairness.sensitive_features}
        positive = predictions.classes[-1] if predictions.classes else 1
        gate = gates_.fairness_gate(
            predictions.y_true, predictions.y_pred, sensitive, positive, spec.fairness
        )
        fairness = gate.details
        gates.append(gate)
    importances: list[dict[str, Any]] = []
    if spec.interpretability and spec.interpretability.permutation_importance:
        scorer = training.tuning.scorer if training.tuning else _scorer(training)
        gate = gates_.importance(pipeline, X, y, scorer, spec.interpretability, training.seed)
        importances = gate.details["importances"]
        gates.append(gate)
    gates.append(gates_.security_gate(ctx.path(paths.onnx), spec.security, sha256))
    passed = all(g.passed for g in gates)
    recomputed = metrics(predictions, training.metrics)
    record = {
        "model": name,
        "passed": passed,
        "sha256": sha256,
        "metrics": values,
        "gates": [g.to_json() for g in gates],
    }
    write_json(ctx.path(paths.review), record)
    context = {
        "model": name,
        "passed": passed,
        "card": model.card,
        "task": training.task,
        "estimator": training.estimator,
        "training": training_name,
        "seed": training.seed,
        "dataset": training.dataset,
        "train_rows": len(read_parquet(ctx.path(ctx.dataset_paths(training.dataset).train))),
        "test_rows": len(X),
        "inputs": signature(dtypes(dataset), ctx.inputs(training)).inputs,
        "opset": model.export.opset,
        "sha256": sha256,
        "size_kib": round(ctx.path(paths.onnx).stat().st_size / 1024),
        "metrics": recomputed or values,
        "gates": record["gates"],
        "fairness": fairness,
        "importances": importances,
    }
    charts = {}
    if fairness:
        for feature, info in fairness["features"].items():
            charts[f"fairness:{feature}"] = svg.bars(
                [r["group"] for r in info["groups"]],
                [r["selection_rate"] for r in info["groups"]],
                unit=" selected",
            )
    if importances:
        charts["importance"] = svg.bars(
            [i["feature"] for i in importances],
            [i["importance"] for i in importances],
            color="#4c78a8",
        )
    write_text(ctx.path(paths.card_md), render("reports/model_card.md.j2", **context))
    write_text(
        ctx.path(paths.card_html), render("reports/model_card.html.j2", **context, charts=charts)
    )
    if not passed:
        if os.environ.get(REPORT_ONLY) == "1":  # experiments keep their results
            failed = ", ".join(g.gate for g in gates if not g.passed)
            return f"Model '{name}': review FAILED ({failed}); kept as a report for this experiment, no version can be registered from it."
        raise StageFailed.of(gates_.problems_of(gates, name))
    return f"Model '{name}': all {len(gates)} review gates passed."


def _scorer(training: P.TrainingParams) -> str:
    from mlform.catalog.metrics import METRICS

    return METRICS[training.metrics[0]].scorer


def _no_regression(
    ctx: StageContext,
    name: str,
    spec: P.NoRegression,
    X: Any,
    y: Any,
    training: P.TrainingParams,
    values: dict[str, float],
) -> Any:
    """Score the version in the compared stage on this same test split."""
    import onnxruntime as ort

    from mlform.errors import UserError
    from mlform.registry import Registry
    from mlform.runtime import review as gates_
    from mlform.runtime.evaluate import Predictions, metrics
    from mlform.runtime.export import Signature, column_of, feeds, read_metadata

    try:
        current = Registry(ctx.root).stage_version(name, spec.stage)
    except UserError:  # not a git repository, or no commits: nothing to compare with
        current = None
    if current is None:
        return gates_.no_regression_gate(values.get(spec.metric), None, spec, None)
    path = Registry(ctx.root).onnx_path(current)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    recorded = read_metadata(path).get("inputs")
    sig = Signature(
        recorded
        if isinstance(recorded, list)
        else [
            {"name": i.name, "datatype": "BYTES" if "string" in i.type else "FP64"}
            for i in session.get_inputs()
        ]
    )
    missing = [column_of(i) for i in sig.inputs if column_of(i) not in X.columns]
    if missing:
        return gates_.Gate(
            "no_regression",
            True,
            f"{current.tag} takes other inputs ({', '.join(missing)}); not comparable",
            ("spec", "gates", "no_regression"),
        )
    outputs = session.run(None, feeds(X, sig))
    if training.task == "classification":
        baseline = Predictions(
            y.to_numpy(),
            outputs[0].ravel(),
            outputs[1] if len(outputs) > 1 else None,
            list(current.record.get("classes") or sorted(y.unique())),
        )
    else:
        baseline = Predictions(
            y.to_numpy(dtype=float), outputs[0].ravel().astype(float), None, None
        )
    production = metrics(baseline, [spec.metric]).get(spec.metric)
    return gates_.no_regression_gate(values.get(spec.metric), production, spec, current.version)
