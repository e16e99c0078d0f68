"""Text reporters of typed results (their JSON reporter is each result's ``to_json``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the results' modules import numpy; `mlform validate` must not
    from mlform.monitoring.result import MonitorResult
    from mlform.retraining.run import RunResult
    from mlform.retraining.triggers import Decision


def monitor_text(result: MonitorResult, folder: Path) -> str:
    """A Monitor run: the window, each feature's drift, prediction drift, performance,
    fairness and data quality."""
    w = result.window
    span = f" in the last {w.span}" if w.span else ""
    lines = [
        f"Monitor {result.monitor}: Model {result.model} {result.version or ''}, "
        f"{w.rows:,} row(s){span} from {w.source}"
    ]
    lines += [click.style("note: ", fg="yellow") + note for note in result.notes]
    data = result.data_drift
    if data:
        lines.append(
            f"Data drift: {len(data.drifted)} of {len(data.features)} feature(s) drifted "
            f"(share {data.share:.2f}; dataset drift at {data.drift_share:g}): "
            + (click.style("dataset drift", fg="red") if data.detected else "no dataset drift")
        )
        width = max((len(f.drift.feature) for f in data.features), default=0)
        for score in data.features:
            f = score.drift
            op = "<" if f.kind == "p_value" else "≥"
            if not f.drifted:
                op = "≥" if op == "<" else "<"
            state = click.style("drifted", fg="red") if f.drifted else "ok"
            lines.append(
                f"  {f.feature:<{width}}  {f.method:<14} {f.score:.4g} {op} {f.threshold:g}  {state}"
            )
    prediction = result.prediction_drift
    if prediction and prediction.drift:
        p = prediction.drift
        state = click.style("drifted", fg="red") if p.drifted else "stable"
        lines.append(
            f"Prediction drift ({prediction.of}): {p.method} {p.score:.4g} "
            f"(threshold {p.threshold:g}): {state}"
        )
    performance = result.performance
    if performance:
        shown = f" = {performance.value:.4f}" if performance.value is not None else ""
        state = (
            click.style("out of bounds", fg="red") if performance.violated else performance.status
        )
        lines.append(
            f"Performance: {performance.metric}{shown} on {performance.labels} labelled "
            f"prediction(s): {state}"
        )
    lines += _fairness_lines(result) + _quality_lines(result)
    alerts = result.alerts
    lines.append(
        "Alerts: " + (click.style(", ".join(alerts), fg="red", bold=True) if alerts else "none")
    )
    lines.append(f"Wrote {folder}/result.json, report.html and metrics.prom")
    return "\n".join(lines)


def _fairness_lines(result: MonitorResult) -> list[str]:
    fairness = result.fairness
    if fairness is None:
        return []
    value = fairness.value
    shown = f" = {value:.4f}" if value is not None else ""
    bound = f"≤ {fairness.max:g}" if fairness.max is not None else f"≥ {fairness.min or 0:g}"
    state = click.style("out of bounds", fg="red") if fairness.violated else fairness.status
    lines = [
        f"Fairness: {fairness.metric}{shown} ({bound}) on {fairness.labels} labelled "
        f"prediction(s): {state}"
    ]
    for feature in fairness.features.values():
        scored = f" {feature.value:.4f}" if feature.value is not None else ""
        lines.append(f"  {feature.feature}{scored} ({feature.labels} labelled, {feature.status})")
    return lines


def _quality_lines(result: MonitorResult) -> list[str]:
    quality = result.data_quality
    if quality is None:
        return []
    state = click.style("failed", fg="red") if quality.detected else "holds"
    lines = [
        f"Data quality: {quality.bad_rows} of {quality.rows} row(s) break the schema "
        f"(share {quality.row_share:.4f}; at most {quality.max_row_share:g}): {state}"
    ]
    for check in quality.failed:
        lines.append(
            f"  {check.column}  {check.check} {check.share:.4f} > {check.threshold:g}  "
            + click.style("failed", fg="red")
            + (f"  e.g. {', '.join(check.examples)}" if check.examples else "")
        )
    return lines


def decisions_text(decisions: list[Decision]) -> str:
    """Each RetrainPolicy's verdict, with the triggers that fired and those that did not."""
    lines = []
    for d in decisions:
        verdict = (
            click.style("retrain", fg="yellow", bold=True)
            if d.retrain
            else (f"blocked — {d.blocked}" if d.blocked else "no retrain")
        )
        lines.append(f"{d.policy} (Model {d.model}, serving {d.champion or '-'}): {verdict}")
        lines += [f"  fired  {item['trigger']}: {item['why']}" for item in d.fired]
        lines += [f"  quiet  {item['trigger']}: {item['why']}" for item in d.quiet]
    return "\n".join(lines)


def run_line(done: RunResult) -> str:
    tail = f" {done.version}" if done.version else ""
    return f"{done.policy}: {done.outcome}{tail} — {done.reason}"
