"""A monitor run's scores in Prometheus's text exposition format.

Names and labels are what the rendered rules (``targets/prometheus.py``) select on::

    mlform_feature_drift_score{monitor,model,version,feature,method}      (and _threshold, _detected)
    mlform_dataset_drift_share{monitor,model,version}                     (and _detected)
    mlform_prediction_drift_score{monitor,model,version,method}           (and _detected)
    mlform_model_performance{monitor,model,version,metric}                (and _labels)
    mlform_fairness_value{monitor,model,version,metric,feature}             (and _groups)
    mlform_fairness_group_selection_rate{monitor,model,version,feature,group}  (and _rows)
    mlform_fairness_detected{monitor,model,version,metric}
    mlform_data_quality_share{monitor,model,version,feature,check}        (and _threshold, _violated)
    mlform_data_quality_row_share{monitor,model,version}                  (and _detected)
    mlform_monitor_window_rows{monitor,model}
    mlform_monitor_last_run_timestamp_seconds{monitor,model}
    mlform_monitor_status{monitor,model,status}

Scores are only exported when they were computed: an insufficient window exports its size
and status, and nothing an alert could fire on; a sensitive feature with fewer than two
groups of ``min_group_size`` labelled rows exports no fairness value, and only such groups
are exported per group (their number is bounded by the labels, whatever feedback sends).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mlform.clock import epoch

HELP = {
    "mlform_feature_drift_score": "Drift score of a feature: a p-value (ks, chi2) or a distance.",
    "mlform_feature_drift_threshold": "The threshold the feature's drift score is compared with.",
    "mlform_feature_drift_detected": "1 when the feature drifted in the last monitor run.",
    "mlform_dataset_drift_share": "Share of the monitored features that drifted.",
    "mlform_dataset_drift_detected": "1 when the share of drifted features reached drift_share.",
    "mlform_prediction_drift_score": "Drift score of the model's predictions.",
    "mlform_prediction_drift_detected": "1 when the model's predictions drifted.",
    "mlform_model_performance": "The Monitor's metric on labelled production traffic.",
    "mlform_model_performance_labels": "Labelled predictions the performance metric was computed on.",
    "mlform_fairness_value": "The fairness metric of a sensitive feature on labelled traffic.",
    "mlform_fairness_groups": "Groups of the feature with at least min_group_size labels.",
    "mlform_fairness_group_selection_rate": "Share of a group's labelled rows predicted positive.",
    "mlform_fairness_group_rows": "Labelled predictions of a group.",
    "mlform_fairness_detected": "1 when the fairness metric broke its bound.",
    "mlform_data_quality_share": "Share of the window's rows breaking a check of a column.",
    "mlform_data_quality_threshold": "The share above which the column fails the check.",
    "mlform_data_quality_violated": "1 when the column's share is above its threshold.",
    "mlform_data_quality_row_share": "Share of the window's rows breaking any check.",
    "mlform_data_quality_detected": "1 when a column failed a check or too many rows did.",
    "mlform_monitor_window_rows": "Predictions in the last monitor run's window.",
    "mlform_monitor_last_run_timestamp_seconds": "When the monitor last ran (Unix time).",
    "mlform_monitor_status": "1 for the status of the last monitor run.",
}


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


Add = Callable[[str, dict[str, Any], "float | None"], None]


def _fairness(add: Add, versioned: dict[str, Any], fairness: dict[str, Any] | None) -> None:
    if not fairness or "value" not in fairness:
        return
    metric = fairness["metric"]
    for feature in fairness["features"]:
        if "value" not in feature:
            continue
        labels = {**versioned, "metric": metric, "feature": feature["feature"]}
        add("mlform_fairness_value", labels, feature["value"])
        add("mlform_fairness_groups", labels, len(feature["groups"]))
        for group in feature["groups"]:
            each = {**versioned, "feature": feature["feature"], "group": group["group"]}
            add("mlform_fairness_group_selection_rate", each, group["selection_rate"])
            add("mlform_fairness_group_rows", each, group["count"])
    add("mlform_fairness_detected", {**versioned, "metric": metric}, int(fairness["violated"]))


def prometheus_text(result: dict[str, Any]) -> str:
    samples: dict[str, list[str]] = {name: [] for name in HELP}

    def add(name: str, labels: dict[str, Any], value: float | None) -> None:
        if value is None:
            return
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        samples[name].append(f"{name}{{{inner}}} {_number(float(value))}")

    own = {"monitor": result["monitor"], "model": result["model"]}
    versioned = {**own, "version": result.get("version") or ""}
    add("mlform_monitor_window_rows", own, result["window"]["rows"])
    add("mlform_monitor_last_run_timestamp_seconds", own, epoch(result["ran_at"]))
    add("mlform_monitor_status", {**own, "status": result["status"]}, 1)
    data = result.get("data_drift")
    if data:
        for feature in data["features"]:
            labels = {**versioned, "feature": feature["feature"], "method": feature["method"]}
            add("mlform_feature_drift_score", labels, feature["score"])
            add("mlform_feature_drift_threshold", labels, feature["threshold"])
            add("mlform_feature_drift_detected", labels, int(feature["drifted"]))
        add("mlform_dataset_drift_share", versioned, data["share"])
        add("mlform_dataset_drift_detected", versioned, int(data["detected"]))
    prediction = result.get("prediction_drift")
    if prediction and "score" in prediction:
        add(
            "mlform_prediction_drift_score",
            {**versioned, "method": prediction["method"]},
            prediction["score"],
        )
        add("mlform_prediction_drift_detected", versioned, int(prediction["detected"]))
    performance = result.get("performance")
    if performance:
        labels = {**versioned, "metric": performance["metric"]}
        add("mlform_model_performance_labels", labels, performance["labels"])
        add("mlform_model_performance", labels, performance.get("value"))
    _fairness(add, versioned, result.get("fairness"))
    quality = result.get("data_quality")
    if quality:
        for check in quality["checks"]:
            labels = {**versioned, "feature": check["column"], "check": check["check"]}
            add("mlform_data_quality_share", labels, check["share"])
            add("mlform_data_quality_threshold", labels, check["threshold"])
            add("mlform_data_quality_violated", labels, int(check["violated"]))
        add("mlform_data_quality_row_share", versioned, quality["row_share"])
        add("mlform_data_quality_detected", versioned, int(quality["detected"]))
    lines = []
    for name, rows in samples.items():
        if rows:
            lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", *rows]
    return "\n".join(lines) + "\n"
