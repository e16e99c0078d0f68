"""When to retrain: each RetrainPolicy's triggers, then its cooldown and maximum frequency.

Every check appends its decision, with why, to the policy's ``decisions.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.clock import duration_seconds, epoch, stamp
from mlform.engines.dvc import read_lock
from mlform.engines.prometheus import Prometheus
from mlform.errors import UserError
from mlform.layout import monitor_dir
from mlform.project import ProjectGraph
from mlform.retraining import fingerprint, ledger
from mlform.spec import Dataset, Model, RetrainPolicy


@dataclass
class Decision:
    policy: str
    model: str
    at: str
    retrain: bool
    fired: list[dict[str, str]] = field(default_factory=list)
    quiet: list[dict[str, str]] = field(default_factory=list)
    blocked: str | None = None
    champion: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "model": self.model,
            "at": self.at,
            "retrain": self.retrain,
            "fired": self.fired,
            "quiet": self.quiet,
            "blocked": self.blocked,
            "champion": self.champion,
        }


def policies(graph: ProjectGraph, model: str | None = None) -> list[RetrainPolicy]:
    found = [p for p in graph.all(RetrainPolicy) if model is None or p.spec.model == model]
    if model is not None and not found:
        graph.named(Model, model)
        raise UserError(f"Model '{model}' has no RetrainPolicy")
    return found


def champion(graph: ProjectGraph, model: str) -> str | None:
    """The version the reconciler last deployed (its state), else the newest registered."""
    from mlform.reconcile.state import DEFAULT_ENV, State, backend_of
    from mlform.registry import Registry

    state = State.read(backend_of(graph, DEFAULT_ENV), DEFAULT_ENV)
    recorded = (state.resources.get(f"model.{model}") or {}).get("outputs") or {}
    if recorded.get("version"):
        return str(recorded["version"])
    versions = Registry(graph.root).versions(model)
    return versions[-1].version if versions else None


def check(
    graph: ProjectGraph, now: float | None = None, model: str | None = None
) -> list[Decision]:
    now = time.time() if now is None else now
    decisions = []
    for policy in policies(graph, model):
        decision = _decide(graph, policy, now)
        ledger.append(graph.root, policy.metadata.name, ledger.DECISIONS, decision.to_json())
        decisions.append(decision)
    return decisions


def _decide(graph: ProjectGraph, policy: RetrainPolicy, now: float) -> Decision:
    spec = policy.spec
    name = policy.metadata.name
    served = champion(graph, spec.model)
    decision = Decision(name, spec.model, stamp(now), False, champion=served)
    last_check = next(
        (
            epoch(d["at"])
            for d in reversed(ledger.read(graph.root, name, ledger.DECISIONS))
            if d.get("at")
        ),
        None,
    )
    for trigger in spec.triggers:
        why = _trigger(graph, trigger, served, last_check, now)
        entry = {"trigger": trigger.kind, "why": why[1]}
        (decision.fired if why[0] else decision.quiet).append(entry)
    if not decision.fired:
        return decision
    history = ledger.read(graph.root, name, ledger.RUNS)
    news = [r for r in history if r.get("outcome") in ledger.COOLDOWN]
    if news:
        last = epoch(news[-1]["started"])
        cooldown = duration_seconds(spec.cooldown)
        if now - last < cooldown:
            decision.blocked = (
                f"cooldown: the last retrain started {news[-1]['started']}; the next may start "
                f"after {stamp(last + cooldown)} (cooldown {spec.cooldown})"
            )
            return decision
    again = fingerprint.rejected_before(graph.root, name, fingerprint.of(graph, policy, served))
    if again:
        decision.blocked = again
        return decision
    if spec.max_frequency:
        per = duration_seconds(spec.max_frequency.per)
        runs = [r for r in history if ledger.trained(r)]
        recent = [r for r in runs if now - epoch(r["started"]) < per]
        if len(recent) >= spec.max_frequency.count:
            decision.blocked = (
                f"max_frequency: {len(recent)} retrain(s) in the last {spec.max_frequency.per} "
                f"(at most {spec.max_frequency.count})"
            )
            return decision
    decision.retrain = True
    return decision


def _trigger(
    graph: ProjectGraph, trigger: Any, served: str | None, last_check: float | None, now: float
) -> tuple[bool, str]:
    if trigger.monitor_alert is not None:
        wanted = set(trigger.monitor_alert.alerts)
        name = trigger.monitor_alert.monitor
        result = _latest(graph, name, served)
        if isinstance(result, str):
            return False, result
        firing = sorted(
            set(result.get("alerts", [])) & wanted if wanted else result.get("alerts", [])
        )
        firing = [*firing, *_prometheus_alerts(graph, name, wanted)]
        if firing:
            return (
                True,
                f"Monitor '{name}' raised {', '.join(sorted(set(firing)))} ({result['ran_at']})",
            )
        return (
            False,
            f"Monitor '{name}' raised no {'/'.join(sorted(wanted)) or 'alert'} ({result['ran_at']})",
        )
    if trigger.metric_below is not None:
        rule = trigger.metric_below
        result = _latest(graph, rule.monitor, served)
        if isinstance(result, str):
            return False, result
        performance = result.get("performance") or {}
        value = performance.get("value")
        if performance.get("metric") != rule.metric or value is None:
            return (
                False,
                f"Monitor '{rule.monitor}' has no {rule.metric} on enough labelled traffic yet",
            )
        if value < rule.min:
            return (
                True,
                f"{rule.metric} {value:.4f} < {rule.min:g} on {performance['labels']} labelled predictions",
            )
        return False, f"{rule.metric} {value:.4f} ≥ {rule.min:g}"
    if trigger.new_data is not None:
        return _new_data(graph, graph.get(Dataset, trigger.new_data.dataset))
    from mlform.retraining.schedule import fired

    cron = trigger.schedule.cron
    if last_check is None:
        return False, f"schedule '{cron}': first check; the schedule counts from now"
    if fired(cron, last_check, now):
        return True, f"schedule '{cron}' came due since the last check ({stamp(last_check)})"
    return False, f"schedule '{cron}' not due since {stamp(last_check)}"


def _latest(graph: ProjectGraph, monitor: str, served: str | None) -> dict[str, Any] | str:
    path = monitor_dir(graph.root, monitor) / "result.json"
    if not path.is_file():
        return f"Monitor '{monitor}' has not run yet (`mlform monitor run {monitor}`)"
    result: dict[str, Any] = json.loads(path.read_text())
    if result.get("status") != "ok":
        return f"Monitor '{monitor}' last run: {result.get('status')} ({result.get('ran_at')})"
    if served and result.get("version") != served:
        return (
            f"Monitor '{monitor}' last scored {result.get('version')}, not the served {served}; "
            "waiting for a run on the served version"
        )
    return result


def _prometheus_alerts(graph: ProjectGraph, monitor: str, wanted: set[str]) -> list[str]:
    """Firing alerts of the Monitor in Prometheus, when the Project names one."""
    prometheus = Prometheus.of(graph.project.spec.monitoring.prometheus_url)
    if prometheus is None:
        return []
    out = []
    for alert in prometheus.alerts():
        labels = alert.get("labels", {})
        objective = labels.get("objective", "")
        if (
            alert.get("state") == "firing"
            and labels.get("monitor") == monitor
            and (not wanted or objective in wanted)
        ):
            out.append(f"{objective} (Prometheus alert {labels.get('alertname')})")
    return out


def source_md5(path: Path) -> str | None:
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def recorded_md5(root: Path, dataset: Dataset) -> str | None:
    """The md5 DVC recorded for the Dataset's source when the pipeline last ran."""
    first = "check" if dataset.spec.cleaning is None else "clean"  # the stage reading the source
    dep = read_lock(root).stage(f"{first}-{dataset.metadata.name}").dep(dataset.spec.source.path)
    return dep.md5 if dep else None


def _new_data(graph: ProjectGraph, dataset: Dataset) -> tuple[bool, str]:
    path = dataset.spec.source.path
    now = source_md5(graph.root / path)
    if now is None:
        return False, f"{path} is missing (run `dvc pull`)"
    before = recorded_md5(graph.root, dataset)
    if before is None:
        return (
            False,
            f"no pipeline run of Dataset '{dataset.metadata.name}' is recorded in dvc.lock yet",
        )
    if now != before:
        return True, f"{path} changed since the pipeline last ran (md5 {before[:8]} → {now[:8]})"
    return False, f"{path} unchanged (md5 {now[:8]})"
