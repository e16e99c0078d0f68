"""Deployments, monitors and retrain policies agree with the models they are about."""

from __future__ import annotations

from mlform.catalog.metrics import METRICS
from mlform.checks.context import Context
from mlform.checks.data import model_inputs
from mlform.checks.monitors import check_data_quality, check_fairness
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import Dataset, Deployment, FeatureSet, Model, Monitor, RetrainPolicy
from mlform.spec.dataset import CATEGORICAL_DTYPES
from mlform.workspace import SpecDocument

P_VALUE_METHODS = ("ks", "chi2")
NUMERIC_ONLY = ("ks", "wasserstein")
CATEGORICAL_ONLY = ("chi2",)


def check_deployments(ctx: Context) -> None:
    taken: list[tuple[int, frozenset[str], str]] = []  # (port, environments, deployment)
    everywhere = frozenset(ctx.project.spec.environments) if ctx.project else frozenset()
    project = ctx.project
    default_target = project.spec.defaults.target if project else "local"
    for doc, dep in ctx.docs(Deployment):
        spec = dep.spec
        target = spec.target or default_target
        model = ctx.get(Model, spec.model)
        if model and spec.stage and spec.stage not in model.spec.registry.stages:
            stages = model.spec.registry.stages
            ctx.report(
                doc,
                ("spec", "stage"),
                "E202",
                f"stage '{spec.stage}' is not one of Model '{spec.model}''s stages: {', '.join(stages)}{suggestion(spec.stage, stages)}",
            )
        if target == "kserve" and project is not None and project.spec.remote is None:
            ctx.report(
                doc,
                ("spec", "target"),
                "E217",
                "a kserve Deployment needs the Project's spec.remote: its storageUri is where the model is published",
            )
        if target in ("kserve", "triton") and spec.protocol == "v1":
            ctx.report(
                doc,
                ("spec", "protocol"),
                "E214",
                f"ONNX models on {target} are served over the v2 (Open Inference) protocol only",
            )
        if target == "mlserver":
            ctx.report(
                doc,
                ("spec", "target"),
                "W009",
                "MLServer has no ONNX runtime: it serves the scikit-learn pipeline (a joblib file), not the reviewed ONNX model",
            )
        if target == "local":
            if spec.autoscaling or spec.replicas.max > 1:
                ctx.report(
                    doc,
                    ("spec", "autoscaling" if spec.autoscaling else "replicas"),
                    "W010",
                    "the local target runs one server process; replicas and autoscaling apply to kserve",
                )
            if spec.output_dir:
                ctx.report(
                    doc,
                    ("spec", "output_dir"),
                    "W010",
                    "output_dir is only used by the kserve, triton and mlserver targets",
                )
            # An empty list means every environment (and the default one, "").
            envs = frozenset(spec.environments) or everywhere | {""}
            ports = [("port", spec.local.port), ("grpc_port", spec.local.grpc_port)]
            for key, port in ports:
                other = next((n for p, e, n in taken if p == port and e & envs), None)
                if port is not None and other is not None:
                    ctx.report(
                        doc,
                        ("spec", "local", key),
                        "E215",
                        f"port {port} is already used by Deployment '{other}'",
                    )
            taken += [(p, envs, dep.metadata.name) for _, p in ports if p is not None]
        if spec.canary and spec.canary.traffic_percent in (0, 100):
            ctx.report(
                doc,
                ("spec", "canary", "traffic_percent"),
                "W011",
                f"a canary with {spec.canary.traffic_percent}% of traffic is not a canary",
            )


def _monitor_context(
    ctx: Context, monitor: Monitor
) -> tuple[Model | None, Dataset | None, list[str]]:
    dep = ctx.get(Deployment, monitor.spec.deployment)
    model = ctx.get(Model, dep.spec.model) if dep else None
    training = ctx.training_of_model(model) if model else None
    dataset = ctx.dataset_of_training(training) if training else None
    features = ctx.get(FeatureSet, training.spec.features) if training else None
    inputs = model_inputs(features, dataset) if features and dataset else []
    return model, dataset, inputs


def check_monitors(ctx: Context) -> None:
    for doc, monitor in ctx.docs(Monitor):
        model, dataset, inputs = _monitor_context(ctx, monitor)
        spec = monitor.spec
        if spec.latency and spec.latency.p50_ms and spec.latency.p50_ms > spec.latency.p99_ms:
            ctx.report(
                doc,
                ("spec", "latency", "p50_ms"),
                "E208",
                f"p50 ({spec.latency.p50_ms:g} ms) cannot exceed p99 ({spec.latency.p99_ms:g} ms)",
            )
        _check_alert_labels(ctx, doc, monitor)
        drift = spec.data_drift
        if drift:
            for method, value in drift.thresholds.items():
                _check_threshold(
                    ctx, doc, ("spec", "data_drift", "thresholds", method), method, value
                )
            for name, override in drift.per_feature.items():
                if override.method and override.threshold is not None:
                    _check_threshold(
                        ctx,
                        doc,
                        ("spec", "data_drift", "per_feature", name, "threshold"),
                        override.method,
                        override.threshold,
                    )
        if (
            spec.prediction_drift
            and spec.prediction_drift.method
            and spec.prediction_drift.threshold is not None
        ):
            _check_threshold(
                ctx,
                doc,
                ("spec", "prediction_drift", "threshold"),
                spec.prediction_drift.method,
                spec.prediction_drift.threshold,
            )
        training = ctx.training_of_model(model) if model else None
        info = ctx.estimator_of(training)
        if spec.performance and info and METRICS[spec.performance.metric].task != info.task:
            ctx.report(
                doc,
                ("spec", "performance", "metric"),
                "E211",
                f"{spec.performance.metric} is a {METRICS[spec.performance.metric].task} metric, but {info.name} does {info.task}",
            )
        if drift and dataset:
            _check_drift_features(ctx, doc, monitor, dataset, inputs)
        check_fairness(ctx, doc, monitor, model, dataset, info.task if info else None)
        check_data_quality(ctx, doc, monitor, dataset, inputs)


# Labels every alert of a Monitor carries already (targets/prometheus.py), and Prometheus's
OWN_LABELS = ("severity", "team", "monitor", "model", "deployment", "objective", "alertname")


def _check_alert_labels(ctx: Context, doc: SpecDocument, monitor: Monitor) -> None:
    for name in monitor.spec.alerts.labels:
        loc: Loc = ("spec", "alerts", "labels", name)
        if name.startswith("__"):
            ctx.report(
                doc, loc, "E208", f"label '{name}': names starting with __ are Prometheus's own",
                at_key=True,
            )  # fmt: skip
        elif name in OWN_LABELS:
            use = f"; set alerts.{name} instead" if name in ("severity", "team") else ""
            ctx.report(
                doc, loc, "E208", f"label '{name}' is one mlform sets on every alert{use}",
                at_key=True,
            )  # fmt: skip


def _check_threshold(ctx: Context, doc: SpecDocument, loc: Loc, method: str, value: float) -> None:
    if method in P_VALUE_METHODS and not 0 < value < 1:
        ctx.report(
            doc,
            loc,
            "E208",
            f"{method} thresholds are p-values between 0 and 1; {value:g} is out of range",
        )
    if method == "jensen-shannon" and value > 1:
        ctx.report(
            doc,
            loc,
            "E208",
            f"the Jensen-Shannon distance lies between 0 and 1; {value:g} is out of range",
        )


def _check_drift_features(
    ctx: Context, doc: SpecDocument, monitor: Monitor, dataset: Dataset, inputs: list[str]
) -> None:
    drift = monitor.spec.data_drift
    assert drift is not None
    columns = dataset.spec.columns
    named: list[tuple[Loc, str]] = [
        (("spec", "data_drift", "features", i), f) for i, f in enumerate(drift.features or [])
    ]
    named += [(("spec", "data_drift", "per_feature", f), f) for f in drift.per_feature]
    for loc, feature in named:
        if feature not in columns:
            ctx.report(
                doc,
                loc,
                "E204",
                f"feature '{feature}' is not a column of Dataset '{dataset.metadata.name}'{suggestion(feature, list(columns))}",
                at_key=loc[2] == "per_feature",
                field_path=loc if loc[2] != "per_feature" else loc[:-1],
            )
        elif feature not in inputs:
            ctx.report(
                doc,
                loc,
                "W012",
                f"'{feature}' is not a model input, so the served requests do not carry it",
            )
    methods = {
        "numeric": drift.methods.numeric,
        "categorical": drift.methods.categorical,
    }
    for kind, method in methods.items():
        if method in NUMERIC_ONLY and kind == "categorical":
            ctx.report(
                doc,
                ("spec", "data_drift", "methods", kind),
                "E209",
                f"{method} compares numeric distributions; use chi2, jensen-shannon or psi for categorical columns",
            )
        if method in CATEGORICAL_ONLY and kind == "numeric":
            ctx.report(
                doc,
                ("spec", "data_drift", "methods", kind),
                "E209",
                f"{method} compares category counts; use ks, wasserstein, psi or jensen-shannon for numeric columns",
            )
    for feature, override in drift.per_feature.items():
        column = columns.get(feature)
        if column is None or override.method is None:
            continue
        categorical = column.dtype in CATEGORICAL_DTYPES
        if (override.method in NUMERIC_ONLY and categorical) or (
            override.method in CATEGORICAL_ONLY and not categorical
        ):
            ctx.report(
                doc,
                ("spec", "data_drift", "per_feature", feature, "method"),
                "E209",
                f"{override.method} does not fit {column.dtype} column '{feature}'",
            )


def check_retrain_policies(ctx: Context) -> None:
    for doc, policy in ctx.docs(RetrainPolicy):
        spec = policy.spec
        model = ctx.get(Model, spec.model)
        training = ctx.training_of_model(model) if model else None
        dataset = ctx.dataset_of_training(training) if training else None
        info = ctx.estimator_of(training)
        for i, trigger in enumerate(spec.triggers):
            loc: Loc = ("spec", "triggers", i)
            if trigger.metric_below:
                mon = ctx.get(Monitor, trigger.metric_below.monitor)
                metric = trigger.metric_below.metric
                if info and METRICS[metric].task != info.task:
                    ctx.report(
                        doc,
                        (*loc, "metric_below", "metric"),
                        "E211",
                        f"{metric} is a {METRICS[metric].task} metric, but {info.name} does {info.task}",
                    )
                if mon and (mon.spec.performance is None or mon.spec.performance.metric != metric):
                    ctx.report(
                        doc,
                        (*loc, "metric_below", "metric"),
                        "W013",
                        f"Monitor '{trigger.metric_below.monitor}' "
                        + (
                            f"computes {mon.spec.performance.metric}, not {metric}"
                            if mon.spec.performance
                            else f"does not compute {metric}; add spec.performance to it"
                        ),
                    )
            if trigger.monitor_alert:
                mon = ctx.get(Monitor, trigger.monitor_alert.monitor)
                for j, alert in enumerate(trigger.monitor_alert.alerts):
                    if mon and getattr(mon.spec, alert) is None:
                        ctx.report(
                            doc,
                            (*loc, "monitor_alert", "alerts", j),
                            "W013",
                            f"Monitor '{trigger.monitor_alert.monitor}' has no {alert} objective, so this alert never fires",
                        )
            if trigger.new_data and dataset and trigger.new_data.dataset != dataset.metadata.name:
                ctx.report(
                    doc,
                    (*loc, "new_data", "dataset"),
                    "W014",
                    f"Model '{spec.model}' trains on Dataset '{dataset.metadata.name}', not '{trigger.new_data.dataset}'",
                )
        target = spec.promotion.deployment
        dep = ctx.get(Deployment, target)
        if dep and dep.spec.model != spec.model:
            ctx.report(
                doc,
                ("spec", "promotion", "deployment"),
                "E216",
                f"Deployment '{target}' serves Model '{dep.spec.model}', not '{spec.model}'",
            )
        challenger_metric = spec.promotion.champion_challenger.metric
        if challenger_metric and info and METRICS[challenger_metric].task != info.task:
            ctx.report(
                doc,
                ("spec", "promotion", "champion_challenger", "metric"),
                "E211",
                f"{challenger_metric} is a {METRICS[challenger_metric].task} metric, "
                f"but {info.name} does {info.task}",
            )
