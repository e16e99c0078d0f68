"""A monitor run's scores in Prometheus's text exposition format.

Names and labels are what the rendered rules (``targets/prometheus.py``) select on::

    mlform_feature_drift_score{monitor,model,version,feature,method}      (and _threshold, _detected)
    mlform_dataset_drift_share{monitor,model,version}                     (and _detected)
    mlform_prediction_drift_score{monitor,model,version,method}           (and _detected)
    mlform_model_performance{monitor,model,version,metric}                (and _labels)
    mlform_monitor_window_rows{monitor,model}
    mlform_monitor_last_run_timestamp_seconds{monitor,model}
    mlform_monitor_status{monitor,model,status}

Scores are only exported when they were computed: an insufficient window exports its size
and status, and nothing an alert could fire on.
"""

from __future__ import annotations

import math
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
    lines = []
    for name, rows in samples.items():
        if rows:
            lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", *rows]
    return "\n".join(lines) + "\n"
