"""A Monitor's production fairness: the Model's fairness metric (``runtime.fairness``, the
same code as the review gate) on the labelled predictions of the window.

A sensitive feature's value comes from the logged request when it is a model input, else
from the ``columns`` its feedback carried. A feature scores once two of its groups have at
least ``min_group_size`` labelled rows; with fewer it is ``insufficient_data`` and exports
nothing an alert could fire on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlform.monitoring.reference import VersionReference, as_class
from mlform.monitoring.result import Fairness, SensitiveFeature
from mlform.monitoring.window import Window
from mlform.runtime import fairness
from mlform.spec import Model, Monitor


def score(
    monitor: Monitor, model: Model, ref: VersionReference, traffic: Window, notes: list[str]
) -> Fairness:
    spec = monitor.spec.fairness
    assert spec is not None
    definition = spec.resolved(model.spec.gates.fairness)
    assert definition is not None  # validate refuses a Monitor without sensitive features
    metric, minimum = definition.metric, definition.min_group_size
    positions, labels = traffic.labelled()

    def outcome(status: str, features: dict[str, SensitiveFeature]) -> Fairness:
        return Fairness(
            metric, definition.min, definition.max, minimum, len(positions), status, features
        )

    classes = ref.classes
    if not classes:
        notes.append("fairness not scored: the model has no classes (a regression model)")
        return outcome("not_scored", {})
    outputs = traffic.outputs()
    truth = np.array([as_class(label, classes) for label in labels], dtype=object)
    predicted = np.array(
        [as_class(outputs[i].get("label"), classes) for i in positions], dtype=object
    )
    inputs = set(ref.inputs)
    features: dict[str, SensitiveFeature] = {}
    for name in definition.sensitive_features:
        values = traffic.column(name, positions)
        known = np.array([v is not None and v != "" for v in values], dtype=bool)
        source = "request" if name in inputs else "feedback columns"
        if not known.any():
            features[name] = SensitiveFeature(name, source, 0, None, "missing")
            notes.append(
                f"fairness: no labelled prediction in the window carries '{name}' "
                + ("" if name in inputs else "(send it in the feedback's `columns`)")
            )
            continue
        chosen = np.array([str(v) for v in values], dtype=object)[known]
        parity = fairness.by_feature(
            truth[known], predicted[known], {name: chosen}, classes[-1], metric, minimum
        )[name]
        status = "ok" if parity.value is not None else "insufficient_data"
        if status != "ok":
            notes.append(
                f"fairness of '{name}' not scored: fewer than two groups with at least "
                f"{minimum} labelled prediction(s) ({_sizes(parity)})"
            )
        features[name] = SensitiveFeature(name, source, int(known.sum()), parity, status)
    scored = any(f.status == "ok" for f in features.values())
    return outcome("ok" if scored else "insufficient_data", features)


def _sizes(parity: fairness.FeatureParity) -> str:
    counts: list[dict[str, Any]] = [
        {"group": g["group"], "count": g["count"]} for g in parity.groups
    ] + parity.too_small
    shown = ", ".join(f"{c['group']}: {c['count']}" for c in counts[:5])
    return shown + (", …" if len(counts) > 5 else "") if counts else "no groups"
