"""Prometheus alerting and recording rules per Monitor, and promtool unit tests for them.

Rules read the local server's metrics (latency histogram, request counter) and the metrics
`mlform monitor run` exports (drift, prediction drift, performance); see docs/monitoring.md.
Each alert carries severity, team and the Monitor's labels, and annotations with a summary,
a description quoting ``{{ $value }}`` and a runbook link. The unit tests feed input series
that must, and must not, fire every alert; tests run them with the real promtool.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from mlform.catalog.metrics import METRICS
from mlform.project import ProjectGraph
from mlform.render import render
from mlform.spec import Monitor
from mlform.targets import RenderedFile
from mlform.targets.promql import VALUE, Alert, go_text, promql_string
from mlform.targets.promql import series as _series
from mlform.targets.quality_rules import data_quality_alerts, fairness_alerts

__all__ = ["go_text", "promql_string", "render_monitoring", "rules_dir"]


def rules_dir(graph: ProjectGraph, monitor: Monitor) -> PurePosixPath:
    base = PurePosixPath(monitor.spec.rules_dir or graph.project.spec.monitoring.rules_dir)
    env = graph.monitoring_env
    return base / env if env else base


def render_monitoring(graph: ProjectGraph) -> list[RenderedFile]:
    files = []
    for monitor in graph.all(Monitor):
        folder = rules_dir(graph, monitor)
        name = monitor.metadata.name
        rules, tests = rules_and_tests(graph, monitor)
        files.append(
            RenderedFile(
                str(folder / f"{name}.rules.yml"),
                render("monitoring/rules.yml.j2", rules=rules, source=name),
            )
        )
        files.append(
            RenderedFile(
                str(folder / f"{name}.test.yml"),
                render("monitoring/test.yml.j2", tests=tests, source=name),
            )
        )
    return files


def alerts(graph: ProjectGraph, monitor: Monitor) -> list[Alert]:
    spec = monitor.spec
    deployment = graph.deployment_of(monitor)
    model = deployment.spec.model
    name = monitor.metadata.name
    own = {"monitor": name, "model": model}
    n = promql_string(name)
    out: list[Alert] = []
    if spec.latency:
        limit = spec.latency.p99_ms / 1000
        slow = [
            ("0.025", "0+10x200"),
            ("0.05", "0+20x200"),
            ("0.1", "0+100x200"),
            ("+Inf", "0+100x200"),
        ]
        fast = [
            ("0.025", "0+100x200"),
            ("0.05", "0+100x200"),
            ("0.1", "0+100x200"),
            ("+Inf", "0+100x200"),
        ]
        bucket = "mlform_inference_request_duration_seconds_bucket"
        out.append(
            Alert(
                "MLformLatencyHigh",
                "latency",
                f"mlform:inference_request_duration_seconds:p99_5m{{monitor={n}}} > {limit:g}",
                f"p99 latency of {model} is over {spec.latency.p99_ms:g} ms",
                f"The p99 latency of {model} over 5 minutes is {VALUE} s; the objective is {limit:g} s.",
                [_series(bucket, {"model": model, "le": le}, v) for le, v in slow],
                [_series(bucket, {"model": model, "le": le}, v) for le, v in fast],
                f"{0.05 + 0.05 * 79 / 80:.3f}" if limit < 0.099 else "",
                {},
            )
        )
    if spec.error_rate:
        total = "mlform_inference_requests_total"
        out.append(
            Alert(
                "MLformErrorRateHigh",
                "error_rate",
                f"mlform:inference_requests:error_ratio_5m{{monitor={n}}} > {spec.error_rate.max:g}",
                f"{model} fails more than {spec.error_rate.max:.2%} of requests",
                f"{VALUE} of the requests to {model} failed with a server error over 5 minutes; the objective is at most {spec.error_rate.max:g}.",
                [
                    _series(total, {"model": model, "status": "500"}, "0+50x200"),
                    _series(total, {"model": model, "status": "200"}, "0+50x200"),
                ],
                [_series(total, {"model": model, "status": "200"}, "0+100x200")],
                "0.500" if spec.error_rate.max < 0.5 else "",
                {},
            )
        )
    drift = spec.data_drift
    if drift:
        labels = {**own, "version": "v1", "feature": "f", "method": "psi"}
        out.append(
            Alert(
                "MLformFeatureDrift",
                "feature_drift",
                f"mlform_feature_drift_score{{monitor={n}}} and on (monitor, feature, method) mlform_feature_drift_detected{{monitor={n}}} == 1",
                f"{{{{ $labels.feature }}}} of {model} drifted",
                f"Feature {{{{ $labels.feature }}}} drifted from the training data: {{{{ $labels.method }}}} score {VALUE}.",
                [
                    _series("mlform_feature_drift_score", labels, "0.5x200"),
                    _series("mlform_feature_drift_detected", labels, "1x200"),
                ],
                [
                    _series("mlform_feature_drift_score", labels, "0.01x200"),
                    _series("mlform_feature_drift_detected", labels, "0x200"),
                ],
                "0.500",
                {"version": "v1", "feature": "f", "method": "psi"},
            )
        )
        out.append(
            Alert(
                "MLformDatasetDrift",
                "data_drift",
                f"mlform_dataset_drift_share{{monitor={n}}} >= {drift.drift_share:g}",
                f"the inputs of {model} drifted",
                f"{VALUE} of the monitored features of {model} drifted; dataset drift is a share of {drift.drift_share:g} or more.",
                [_series("mlform_dataset_drift_share", own, "1x200")],
                [_series("mlform_dataset_drift_share", own, "0x200")],
                "1.000",
                {},
            )
        )
    if spec.prediction_drift:
        labels = {**own, "method": "wasserstein"}
        out.append(
            Alert(
                "MLformPredictionDrift",
                "prediction_drift",
                f"mlform_prediction_drift_score{{monitor={n}}} and on (monitor) mlform_prediction_drift_detected{{monitor={n}}} == 1",
                f"the predictions of {model} drifted",
                f"The distribution of {model}'s predictions drifted from the test split's: {{{{ $labels.method }}}} score {VALUE}.",
                [
                    _series("mlform_prediction_drift_score", labels, "0.5x200"),
                    _series("mlform_prediction_drift_detected", own, "1x200"),
                ],
                [
                    _series("mlform_prediction_drift_score", labels, "0.01x200"),
                    _series("mlform_prediction_drift_detected", own, "0x200"),
                ],
                "0.500",
                {"method": "wasserstein"},
            )
        )
    performance = spec.performance
    if performance:
        metric = performance.metric
        higher = METRICS[metric].higher_is_better
        bound = performance.min if performance.min is not None else performance.max
        assert bound is not None
        op, bad, good = (
            ("<", bound - 0.1, bound + 0.1)
            if performance.min is not None
            else (">", bound + 0.1, bound - 0.1)
        )
        labels = {**own, "metric": metric}
        out.append(
            Alert(
                "MLformPerformanceLow",
                "performance",
                f'mlform_model_performance{{monitor={n},metric="{metric}"}} {op} {bound:g} and on (monitor, metric) mlform_model_performance_labels{{monitor={n}}} >= {performance.min_labels}',
                f"{metric} of {model} is {'below' if op == '<' else 'above'} {bound:g}",
                f"{metric} of {model} on labelled traffic is {VALUE} ({'at least' if higher else 'at most'} {bound:g} expected).",
                [
                    _series("mlform_model_performance", labels, f"{bad:g}x200"),
                    _series(
                        "mlform_model_performance_labels",
                        labels,
                        f"{performance.min_labels * 2}x200",
                    ),
                ],
                [
                    _series("mlform_model_performance", labels, f"{good:g}x200"),
                    _series(
                        "mlform_model_performance_labels",
                        labels,
                        f"{performance.min_labels * 2}x200",
                    ),
                ],
                f"{bad:.3f}",
                {"metric": metric},
            )
        )
    if spec.fairness:
        out += fairness_alerts(graph, monitor)
    if spec.data_quality:
        out += data_quality_alerts(monitor, model)
    return out


def rules_and_tests(
    graph: ProjectGraph, monitor: Monitor
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec = monitor.spec
    deployment = graph.deployment_of(monitor)
    model = deployment.spec.model
    name = monitor.metadata.name
    common = {"monitor": name, "model": model}
    m = promql_string(model)
    # What people see once Prometheus has expanded them; the rules carry them as go_text.
    labels = {
        "severity": spec.alerts.severity,
        **({"team": spec.alerts.team} if spec.alerts.team else {}),
        "monitor": name,
        "model": model,
        "deployment": deployment.metadata.name,
        **spec.alerts.labels,
    }
    recording = [
        {
            "record": "mlform:inference_request_duration_seconds:p99_5m",
            "expr": f"histogram_quantile(0.99, sum by (le) (rate(mlform_inference_request_duration_seconds_bucket{{model={m}}}[5m])))",
            "labels": common,
        },
        {
            "record": "mlform:inference_requests:error_ratio_5m",
            "expr": f'sum(rate(mlform_inference_requests_total{{model={m},status=~"5.."}}[5m])) / sum(rate(mlform_inference_requests_total{{model={m}}}[5m]))',
            "labels": common,
        },
    ]
    rules: list[dict[str, Any]] = [
        {
            "name": f"mlform-{name}",
            "interval": spec.alerts.evaluation_interval,
            "rules": [*recording],
        }
    ]
    tests: list[dict[str, Any]] = []
    for alert in alerts(graph, monitor):
        # Summary and description are our templates around names (which cannot hold "{{");
        # the runbook link is the spec's text.
        annotations = {"summary": alert.summary, "description": alert.description}
        rendered = {k: _expand(v, alert.value, alert.extra_labels) for k, v in annotations.items()}
        if spec.alerts.runbook_url:
            annotations["runbook_url"] = go_text(spec.alerts.runbook_url)
            rendered["runbook_url"] = spec.alerts.runbook_url
        rule_labels = {**labels, "objective": alert.objective}
        rules[0]["rules"].append(
            {
                "alert": alert.name,
                "expr": alert.expr,
                "for": spec.alerts.for_,
                "labels": {k: go_text(v) for k, v in rule_labels.items()},
                "annotations": annotations,
            }
        )
        if not alert.value:
            continue  # the objective sits where the fixed test series cannot cross it
        expected = {**rule_labels, **alert.extra_labels}  # the input series' own labels too
        wait = _minutes(spec.alerts.for_) + 6
        if wait > 190:
            continue  # longer than the test series
        tests.append(_test(alert, expected, rendered, wait, fire=True))
        tests.append(_test(alert, expected, rendered, wait, fire=False))
        for quiet in alert.also_quiet:
            tests.append(_test(alert, expected, rendered, wait, fire=False, series=quiet))
    return rules, tests


def _test(
    alert: Alert,
    labels: dict[str, str],
    annotations: dict[str, str],
    minutes: int,
    fire: bool,
    series: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series or (alert.firing if fire else alert.quiet),
        "alert_rule_test": [
            {
                "eval_time": f"{minutes}m",
                "alertname": alert.name,
                "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]
                if fire
                else [],
            }
        ],
    }


def _expand(text: str, value: str, labels: dict[str, str]) -> str:
    out = text.replace(VALUE, value)
    for key, val in labels.items():
        out = out.replace(f"{{{{ $labels.{key} }}}}", val)
    return out


def _minutes(duration: str) -> int:
    import re

    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration):
        total += (
            int(number)
            * {"ms": 1 / 60000, "s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080, "y": 525600}[
                unit
            ]
        )
    return int(total) + 1
