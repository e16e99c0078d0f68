"""`mlform stage review MODEL`: every review gate, a review JSON and a model card.

Gates: metric bounds on the test split; no regression against the version in a stage
(re-scored on the same test split); fairness (per-group rates, demographic parity and
equalized odds, minimum group size); interpretability (permutation importance on held-out
data); security (sha256, ONNX only, standard operators, size bound). A failed gate fails
the stage, so no version can be registered from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlform import stage_params as P
from mlform.catalog.metrics import METRICS
from mlform.loader import Loc
from mlform.runtime import fairness
from mlform.runtime.errors import Problem

STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml"}


@dataclass
class Gate:
    gate: str
    passed: bool
    reason: str
    loc: Loc
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "status": "pass" if self.passed else "fail",
            "reason": self.reason,
            **self.details,
        }


def metric_gates(values: dict[str, float], bounds: dict[str, P.Bounds]) -> list[Gate]:
    gates = []
    for metric, bound in bounds.items():
        loc: Loc = ("spec", "gates", "metrics", metric)
        value = values.get(metric)
        if value is None:
            gates.append(
                Gate(
                    f"metrics.{metric}",
                    False,
                    f"{metric} was not computed on the test split; add it to the Training's metrics",
                    loc,
                )
            )
            continue
        low, high = bound.min, bound.max
        problems = []
        if low is not None and value < low:
            problems.append(f"{metric} {value:.4f} is below min {low:g}")
        if high is not None and value > high:
            problems.append(f"{metric} {value:.4f} is above max {high:g}")
        wanted = " and ".join(
            p
            for p in (
                f"≥ {low:g}" if low is not None else "",
                f"≤ {high:g}" if high is not None else "",
            )
            if p
        )
        reason = "; ".join(problems) or f"{metric} {value:.4f} {wanted}"
        gates.append(
            Gate(
                f"metrics.{metric}",
                not problems,
                reason,
                loc,
                {"value": value, "min": low, "max": high},
            )
        )
    return gates


def no_regression_gate(
    candidate: float | None, production: float | None, spec: P.NoRegression, version: str | None
) -> Gate:
    metric, stage, tolerance = spec.metric, spec.stage, spec.tolerance
    loc: Loc = ("spec", "gates", "no_regression")
    if version is None or production is None:
        return Gate(
            "no_regression", True, f"no version is in stage '{stage}' yet", loc, {"stage": stage}
        )
    if candidate is None:
        return Gate(
            "no_regression", False, f"{metric} could not be computed for the candidate", loc
        )
    higher = METRICS[metric].higher_is_better
    delta = candidate - production
    passed = delta >= -tolerance if higher else delta <= tolerance
    verb = "regresses" if not passed else "holds"
    reason = f"{metric} {candidate:.4f} vs {production:.4f} for {version} in '{stage}' ({delta:+.4f}, tolerance {tolerance:g}): {verb}"
    return Gate(
        "no_regression",
        passed,
        reason,
        loc,
        {
            "stage": stage,
            "version": version,
            "candidate": candidate,
            "baseline": production,
            "delta": delta,
        },
    )


def fairness_gate(
    y_true: Any, y_pred: Any, groups: dict[str, Any], positive: Any, spec: P.Fairness
) -> Gate:
    """Per sensitive feature, rates per group and the declared parity metric (see
    ``runtime.fairness``); the gate holds the worst feature to the bound."""
    metric, low, high = spec.metric, spec.min, spec.max
    minimum = spec.min_group_size
    scored = fairness.by_feature(y_true, y_pred, groups, positive, metric, minimum)
    by_feature = {feature: parity.to_json() for feature, parity in scored.items()}
    problems = [
        f"'{feature}' has fewer than two groups of at least {minimum} rows"
        for feature, parity in scored.items()
        if parity.value is None
    ]
    loc: Loc = ("spec", "gates", "fairness")
    if problems:
        return Gate(
            "fairness", False, "; ".join(problems), loc, {"metric": metric, "features": by_feature}
        )
    worst = fairness.worst([p.value for p in scored.values() if p.value is not None], metric)
    passed = fairness.within(worst, low, high)
    bound = f"≤ {high:g}" if high is not None else f"≥ {low:g}"
    reason = f"{metric} {worst:.4f} {'meets' if passed else 'breaks'} the bound {bound}"
    return Gate(
        "fairness", passed, reason, loc, {"metric": metric, "value": worst, "features": by_feature}
    )


def importance(
    pipeline: Any, X: Any, y: Any, scorer: str, spec: P.Interpretability, seed: int
) -> Gate:
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        pipeline,
        X,
        y,
        scoring=scorer,
        n_repeats=spec.n_repeats,
        random_state=seed,
        n_jobs=1,
    )
    order = np.argsort(-result.importances_mean, kind="stable")[: spec.top_k]
    top = [
        {
            "feature": str(X.columns[i]),
            "importance": float(result.importances_mean[i]),
            "std": float(result.importances_std[i]),
        }
        for i in order
    ]
    reason = "permutation importance on the test split: " + ", ".join(
        f"{t['feature']} {t['importance']:.3f}" for t in top[:3]
    )
    return Gate(
        "interpretability",
        True,
        reason,
        ("spec", "gates", "interpretability"),
        {"scoring": scorer, "importances": top},
    )


def security_gate(onnx_path: Path, spec: P.Security, sha256: str) -> Gate:
    import onnx

    size = onnx_path.stat().st_size
    limit = spec.max_size_mb
    problems = []
    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception as exc:  # not a protobuf ONNX file
        problems.append(f"not a loadable ONNX model: {exc}")
        model = None
    if model is not None:
        foreign = sorted({n.domain for n in model.graph.node if n.domain not in STANDARD_DOMAINS})
        if foreign:
            problems.append(f"operators from non-standard domains: {', '.join(foreign)}")
        external = [
            t.name for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
        ]
        if external:
            problems.append("weights stored outside the file (external data)")
    if size > limit * 1024 * 1024:
        problems.append(f"{size / 1024 / 1024:.1f} MB is over max_size_mb {limit:g}")
    reason = (
        "; ".join(problems)
        or f"ONNX only, standard operators, {size / 1024:.0f} KiB ≤ {limit:g} MB, sha256 {sha256[:12]}…"
    )
    return Gate(
        "security",
        not problems,
        reason,
        ("spec", "gates", "security"),
        {"sha256": sha256, "size_bytes": size, "format": "onnx"},
    )


def problems_of(gates: list[Gate], model: str) -> list[Problem]:
    return [
        Problem("E308", "Model", model, g.loc, f"gate {g.gate} failed: {g.reason}")
        for g in gates
        if not g.passed
    ]
