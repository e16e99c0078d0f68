"""`mlform monitor run MONITOR`: drift, performance, fairness and data quality of a Deployment
over a window.

Reads the window (see ``window``), compares it with the served version's reference (see
``reference``) and writes, under ``.mlform/monitor/<monitor>/``:

- ``result.json``: every score, threshold and decision, and what was not evaluated and why;
- ``report.html``: a self-contained report with per-feature distribution plots;
- ``metrics.prom``: the scores in Prometheus's text format (the local server appends it to
  its ``/metrics``, so Prometheus scrapes them with the server's own metrics);
- ``history.jsonl``: one summary line per run (what `mlform retrain check` reads).

A window smaller than the Monitor's ``min_samples`` is ``insufficient_data``: nothing is
scored and no drift metric is exported, so no alert can fire on too little evidence.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlform.clock import duration_seconds, stamp
from mlform.errors import UserError
from mlform.layout import local_dir, monitor_dir
from mlform.monitoring import drift, fairness, quality
from mlform.monitoring.reference import (
    VersionReference,
    as_class,
    current_predictions,
    first_number,
    load,
    prediction_reference,
)
from mlform.monitoring.result import (
    DataDrift,
    FeatureScore,
    MonitorResult,
    Performance,
    PredictionDrift,
    WindowSummary,
)
from mlform.monitoring.window import Window, coverage_gap, read_file, read_log
from mlform.project import ProjectGraph
from mlform.runtime.outputs import clean, write_json, write_text
from mlform.spec import Deployment, Model, Monitor


@dataclass(frozen=True)
class Outcome:
    result: MonitorResult
    folder: Path  # where result.json, report.html and metrics.prom were written

    @property
    def alerts(self) -> list[str]:
        return self.result.alerts


def run(
    graph: ProjectGraph,
    name: str,
    window: str | None = None,
    source: Path | None = None,
    now: float | None = None,
) -> Outcome:
    monitor = graph.named(Monitor, name)
    spec = monitor.spec
    deployment = graph.deployment_of(monitor)
    model = graph.model_of(deployment)
    now = time.time() if now is None else now
    span = window or spec.window
    seconds = duration_seconds(span)
    traffic = _window(graph, deployment, model, source, seconds, now)
    gap = _coverage(graph, deployment, traffic, span) if source is None and traffic.since else None
    warnings = [gap] if gap else []
    version = _version(graph, deployment, traffic)
    ref = load(graph, model, version)
    notes: list[str] = []
    if traffic.corrupt.count:
        notes.append(
            f"{traffic.corrupt.count} log line(s) skipped as corrupt, e.g. {traffic.corrupt.where[0]}"
        )
    data = prediction = None
    if traffic.rows == 0:
        status = "no_data"
        notes.append(f"the window holds no predictions of Model '{model.metadata.name}'")
    elif traffic.rows < spec.min_samples:
        status = "insufficient_data"
        notes.append(
            f"the window holds {traffic.rows} prediction(s), fewer than min_samples "
            f"({spec.min_samples}); nothing is scored"
        )
    else:
        status = "ok"
        data = _data_drift(monitor, ref, traffic, notes) if spec.data_drift else None
        prediction = (
            _prediction_drift(monitor, ref, traffic, notes) if spec.prediction_drift else None
        )
    performance = (
        _performance(monitor, ref, traffic, notes) if spec.performance and traffic.rows else None
    )
    fair = (
        fairness.score(monitor, model, ref, traffic, notes)
        if spec.fairness and traffic.rows
        else None
    )
    quality_ = None
    if spec.data_quality and status == "ok":
        dataset = graph.dataset_of(graph.training_of(model))
        inputs = ref.inputs or [c for c in traffic.inputs().columns if c in dataset.spec.columns]
        quality_ = quality.score(monitor, dataset, inputs, traffic, notes)
    result = MonitorResult(
        monitor=name,
        deployment=deployment.metadata.name,
        model=model.metadata.name,
        version=version,
        reference=_shown(graph.root, ref.profile_path),
        window=WindowSummary(
            source=_shown(graph.root, Path(traffic.source)),
            span=span if source is None else None,
            since=traffic.since or None,
            rows=traffic.rows,
            versions=traffic.versions(),
            min_samples=spec.min_samples,
            corrupt_lines=traffic.corrupt.count,
            corrupt_examples=traffic.corrupt.where,
        ),
        ran_at=stamp(now),
        status=status,
        notes=notes,
        warnings=warnings,
        data_drift=data,
        prediction_drift=prediction,
        performance=performance,
        fairness=fair,
        data_quality=quality_,
    )
    folder = monitor_dir(graph.root, name)
    local_dir(graph.root)
    _write(folder, result, ref, traffic, monitor)
    return Outcome(result, folder)


def _window(
    graph: ProjectGraph,
    deployment: Deployment,
    model: Model,
    source: Path | None,
    seconds: float,
    now: float,
) -> Window:
    if source is not None:
        return read_file(source, model.metadata.name)
    if graph.target(deployment) != "local":
        raise UserError(
            f"Deployment '{deployment.metadata.name}' targets {graph.target(deployment)}; its "
            "prediction log is not on this machine, so give the traffic with --input FILE"
        )
    from mlform.layout import server_dir

    folder = server_dir(graph.root, deployment.metadata.name) / "logs"
    return read_log(folder, model.metadata.name, seconds, now)


def _coverage(
    graph: ProjectGraph, deployment: Deployment, traffic: Window, span: str
) -> str | None:
    """The warning of ``window.coverage_gap`` for the Deployment's log, shown relative to
    the project; the number of rotated files from the server's config."""
    from mlform.layout import server_dir
    from mlform.serving.config import ServeConfig

    folder = server_dir(graph.root, deployment.metadata.name)
    config = folder / "config.json"
    try:
        backups = ServeConfig.load(config).prediction_log.backups
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no server config (never applied): nothing was rotated
    gap = coverage_gap(folder / "logs", traffic.since, span, backups)
    if gap is None:
        return None
    return f"{_shown(graph.root, gap[0])}:1: warning: {gap[1]}"


def _version(graph: ProjectGraph, deployment: Deployment, traffic: Window) -> str | None:
    """The version most rows in the window were served by, else the one served now."""
    counts = {v: n for v, n in traffic.versions().items() if v}
    if counts:
        return max(sorted(counts), key=lambda v: counts[v])
    from mlform.layout import server_dir
    from mlform.serving.config import ServeConfig

    config = server_dir(graph.root, deployment.metadata.name) / "config.json"
    if config.is_file():
        served = ServeConfig.load(config).models
        if served:
            return max(served, key=lambda m: m.weight).version
    from mlform.registry import Registry

    try:
        versions = Registry(graph.root).versions(deployment.spec.model)
    except UserError:  # not a git repository: nothing is registered
        return None
    return versions[-1].version if versions else None


# --- data drift ----------------------------------------------------------------------------
def _data_drift(
    monitor: Monitor, ref: VersionReference, traffic: Window, notes: list[str]
) -> DataDrift:
    import pandas as pd

    spec = monitor.spec.data_drift
    assert spec is not None
    frame = traffic.inputs()
    features = spec.features or ref.inputs or list(ref.columns)
    results: list[FeatureScore] = []
    skipped: dict[str, str] = {}
    for feature in features:
        reference = ref.feature(feature)
        if reference is None:
            skipped[feature] = "not in the reference profile (or of a kind drift does not cover)"
            continue
        if feature not in frame.columns or frame[feature].isna().all():
            skipped[feature] = "missing from every record of the window"
            continue
        numeric = isinstance(reference, drift.NumericReference)
        column = frame[feature]
        if numeric:
            values = pd.to_numeric(column, errors="coerce")
        elif isinstance(column.dtype, pd.CategoricalDtype):
            values = column  # counted from its codes
        else:
            values = column.dropna().astype(str)
        override = spec.per_feature.get(feature)
        method = (
            (override.method if override else None)
            or (spec.methods.numeric if numeric else spec.methods.categorical)
            or drift.default_method(reference, numeric)
        )
        if numeric and method == "chi2":
            skipped[feature] = "chi2 compares categories; give a numeric method"
            continue
        if not numeric and method in ("ks", "wasserstein"):
            skipped[feature] = f"{method} compares numbers; give a categorical method"
            continue
        if override is not None and override.threshold is not None:
            threshold = override.threshold
        else:
            threshold = next(
                (v for k, v in spec.thresholds.items() if k == method),
                drift.DEFAULT_THRESHOLDS[method],
            )
        scored = drift.feature_drift(feature, reference, values, method, threshold)
        kind = "numeric" if numeric else "categorical"
        results.append(FeatureScore(scored, kind, int(pd.Series(values).notna().sum())))
    for feature, why in skipped.items():
        notes.append(f"feature '{feature}' not scored: {why}")
    return DataDrift(results, skipped, spec.drift_share)


def _prediction_drift(
    monitor: Monitor, ref: VersionReference, traffic: Window, notes: list[str]
) -> PredictionDrift:
    spec = monitor.spec.prediction_drift
    assert spec is not None
    found = prediction_reference(ref)
    if found is None:
        notes.append("prediction drift not scored: the version's test predictions are missing")
        return PredictionDrift(skipped="no test predictions")
    reference, what = found
    current = current_predictions(ref, traffic.outputs())
    present = np.isfinite(current).any() if isinstance(current, np.ndarray) else bool(current)
    if not present:
        notes.append("prediction drift not scored: the window holds no predictions")
        return PredictionDrift(skipped="no predictions in the window")
    numeric = isinstance(reference, drift.NumericReference)
    method = spec.method or drift.default_method(reference, numeric)
    if numeric and method == "chi2":
        method = "psi"
        notes.append("prediction drift: chi2 compares categories; psi is used instead")
    if not numeric and method in ("ks", "wasserstein"):
        method = "jensen-shannon"
        notes.append(f"prediction drift: {spec.method} compares numbers; jensen-shannon is used")
    threshold = spec.threshold if spec.threshold is not None else drift.DEFAULT_THRESHOLDS[method]
    scored = drift.feature_drift("prediction", reference, current, method, threshold)
    return PredictionDrift(scored, what)


# --- performance on labelled traffic -------------------------------------------------------
def _performance(
    monitor: Monitor, ref: VersionReference, traffic: Window, notes: list[str]
) -> Performance:
    from mlform.catalog.metrics import METRICS
    from mlform.runtime import scores

    spec = monitor.spec.performance
    assert spec is not None
    positions, labels = traffic.labelled()

    def outcome(status: str, value: float | None = None) -> Performance:
        return Performance(
            spec.metric,
            len(positions),
            spec.min_labels,
            traffic.label_records,
            traffic.unjoined_labels,
            spec.min,
            spec.max,
            status,
            value,
        )

    if traffic.unjoined_labels:
        notes.append(
            f"{traffic.unjoined_labels} label(s) match no prediction in the window "
            "(unknown request_id/row, or the prediction is older than the window)"
        )
    if len(positions) < spec.min_labels:
        notes.append(
            f"performance not scored: {len(positions)} labelled prediction(s) in the window, "
            f"fewer than min_labels ({spec.min_labels})"
        )
        return outcome("insufficient_labels")
    outputs = traffic.outputs()
    chosen = [outputs[i] for i in positions]
    value: float | None
    if METRICS[spec.metric].task == "classification":
        classes = ref.classes
        truth = np.array([as_class(label, classes) for label in labels], dtype=object)
        predicted = np.array([as_class(o.get("label"), classes) for o in chosen], dtype=object)
        probabilities = [o.get("probabilities") for o in chosen]
        have = all(isinstance(p, list) and len(p) == len(classes) for p in probabilities)
        matrix = np.asarray(probabilities, dtype=np.float64) if have else None
        values = scores.classification(truth, predicted, matrix, classes, [spec.metric])
        value = values.get(spec.metric)
        if value is None:
            notes.append(f"performance: {spec.metric} needs the predicted probabilities")
    else:
        truth_f = np.asarray(labels, dtype=np.float64)
        predicted_f = np.array([first_number(o) for o in chosen], dtype=np.float64)
        value = scores.regression(truth_f, predicted_f, [spec.metric]).get(spec.metric)
    if value is None or not np.isfinite(value):
        return outcome("not_scored")
    return outcome("ok", value)


# --- outputs ------------------------------------------------------------------------------
def _shown(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _write(
    folder: Path, result: MonitorResult, ref: VersionReference, traffic: Window, monitor: Monitor
) -> None:
    from mlform.monitoring.export import prometheus_text
    from mlform.monitoring.report import html_report

    document = result.to_json()
    write_text(folder / "report.html", html_report(document, ref, traffic, monitor))
    write_text(folder / "metrics.prom", prometheus_text(document))
    write_json(folder / "result.json", document)
    performance = result.performance
    summary = {
        "ran_at": result.ran_at,
        "status": result.status,
        "version": result.version,
        "rows": result.window.rows,
        "alerts": result.alerts,
        "share": result.data_drift.share if result.data_drift else None,
        "performance": performance.value if performance else None,
        "metric": performance.metric if performance else None,
        "fairness": result.fairness.value if result.fairness else None,
        "data_quality": result.data_quality.row_share if result.data_quality else None,
    }
    with (folder / "history.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(clean(summary), sort_keys=True) + "\n")
