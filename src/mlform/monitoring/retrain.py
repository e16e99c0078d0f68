"""RetrainPolicy: when to retrain (`mlform retrain check`) and the retrain itself
(`mlform retrain run MODEL`).

A check evaluates each policy's triggers — a Monitor's alert, a metric under its bound, new
data (the Dataset's source no longer has the md5 DVC recorded for the pipeline), a cron
schedule — then its cooldown and maximum frequency, and appends the decision, with why, to
``.mlform/retrain/<policy>/decisions.jsonl``. Monitor results count only when they scored the
version that is served now, so a retrained model is not retrained again for its
predecessor's drift.

A run, under the environment's lock:

1. appends labelled production feedback to the Dataset's source (``include_feedback``), each
   row once (``appended.json`` keeps what was taken), and ``dvc add``s it when DVC tracks it;
2. re-runs the pipeline up to the Model's review (``dvc repro review-<model>``): every gate;
   and the Dataset's profile, the new version's drift reference;
3. compares the challenger with the champion (the served version) on a common holdout: the
   new test split's rows the champion never trained on, both models through onnxruntime;
4. promotes or not. A challenger that fails a gate or is worse than the champion (by the
   policy's ``min_improvement``) is rejected: the data file and ``dvc.lock`` are restored, the
   champion's outputs are checked out again, and nothing is registered or deployed. Otherwise,
   in ``auto`` mode the change is committed on the current branch and applied through the
   reconciler (register, deploy; canary first when the Deployment has one); in ``propose``
   mode it is committed on a new branch for review and the workspace is left as it was.

Every run is logged in ``runs.jsonl`` beside the decisions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.clock import duration_seconds, epoch, stamp
from mlform.errors import UserError
from mlform.layout import Layout
from mlform.monitoring import monitor_dir
from mlform.project import ProjectGraph
from mlform.reconcile.apply import repro
from mlform.runtime.outputs import clean, write_json
from mlform.spec import Dataset, Deployment, Model, RetrainPolicy
from mlform.tools import dvc_env, executable

Progress = Callable[[str], None]
ATTEMPTS = ("promoted", "proposed", "rejected")  # runs that count for cooldown and frequency


def retrain_dir(root: Path, policy: str) -> Path:
    return root / ".mlform" / "retrain" / policy


def _append_line(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(clean(record), sort_keys=True) + "\n")


def _ledger(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


# --- check --------------------------------------------------------------------------------
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
    from mlform.reconcile.state import DEFAULT_ENV, State
    from mlform.registry import Registry

    state = State.load(graph.root, DEFAULT_ENV)
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
        _append_line(
            retrain_dir(graph.root, policy.metadata.name) / "decisions.jsonl", decision.to_json()
        )
        decisions.append(decision)
    return decisions


def _decide(graph: ProjectGraph, policy: RetrainPolicy, now: float) -> Decision:
    spec = policy.spec
    name = policy.metadata.name
    served = champion(graph, spec.model)
    decision = Decision(name, spec.model, stamp(now), False, champion=served)
    folder = retrain_dir(graph.root, name)
    last_check = next(
        (epoch(d["at"]) for d in reversed(_ledger(folder / "decisions.jsonl")) if d.get("at")),
        None,
    )
    for trigger in spec.triggers:
        why = _trigger(graph, trigger, served, last_check, now)
        entry = {"trigger": trigger.kind, "why": why[1]}
        (decision.fired if why[0] else decision.quiet).append(entry)
    if not decision.fired:
        return decision
    runs = [r for r in _ledger(folder / "runs.jsonl") if r.get("outcome") in ATTEMPTS]
    if runs:
        last = epoch(runs[-1]["started"])
        cooldown = duration_seconds(spec.cooldown)
        if now - last < cooldown:
            decision.blocked = (
                f"cooldown: the last retrain started {runs[-1]['started']}; the next may start "
                f"after {stamp(last + cooldown)} (cooldown {spec.cooldown})"
            )
            return decision
    if spec.max_frequency:
        per = duration_seconds(spec.max_frequency.per)
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
    from mlform.monitoring.schedule import fired

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
    url = graph.project.spec.monitoring.prometheus_url
    if not url:
        return []
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/alerts", timeout=5) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):
        return []
    out = []
    for alert in data.get("data", {}).get("alerts", []):
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
    from mlform.loader import parse

    lock = root / "dvc.lock"
    if not lock.is_file():
        return None
    documents, problems = parse(lock.read_text(encoding="utf-8"), "dvc.lock")
    data = documents[0].data if documents and not problems else {}
    if not isinstance(data, dict):
        return None
    stage = (data.get("stages") or {}).get(f"check-{dataset.metadata.name}") or {}
    for dep in stage.get("deps") or []:
        if dep.get("path") == dataset.spec.source.path:
            md5 = dep.get("md5")
            return str(md5) if md5 else None
    return None


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


# --- run ----------------------------------------------------------------------------------
@dataclass
class RunResult:
    policy: str
    model: str
    outcome: str  # promoted | proposed | rejected
    reason: str
    champion: str | None
    version: str | None = None
    branch: str | None = None
    appended: int = 0
    comparison: dict[str, Any] = field(default_factory=dict)


def run(
    graph: ProjectGraph,
    model_name: str,
    progress: Progress,
    policy_name: str | None = None,
    reason: str = "requested by hand",
    lock_timeout: float = 0.0,
) -> RunResult:
    from mlform.reconcile.state import DEFAULT_ENV, locked

    found = policies(graph, model_name)
    if policy_name is not None:
        found = [p for p in found if p.metadata.name == policy_name]
        if not found:
            raise UserError(f"Model '{model_name}' has no RetrainPolicy '{policy_name}'")
    if len(found) > 1:
        raise UserError(
            f"Model '{model_name}' has {len(found)} RetrainPolicies; say which with --policy "
            f"({', '.join(p.metadata.name for p in found)})"
        )
    policy = found[0]
    root = graph.root
    _git_ready(root)
    folder = retrain_dir(root, policy.metadata.name)
    started = stamp()
    record: dict[str, Any] = {"started": started, "reason": reason}
    try:
        with locked(root, DEFAULT_ENV, "retrain", lock_timeout):
            result = _retrain(graph, policy, progress, reason)
        if result.outcome == "accepted" and policy.spec.promotion.mode == "auto":
            result.version = _promote(graph, policy, progress, lock_timeout)
            result.outcome = "promoted"
    except UserError as error:
        # Input that cannot be used (feedback without the dataset's columns, a busy lock)
        # is not an attempt: it does not start a cooldown.
        _append_line(folder / "runs.jsonl", {**record, "outcome": "error", "reason": error.message})
        raise
    _append_line(
        folder / "runs.jsonl",
        {
            **record,
            "finished": stamp(),
            "outcome": result.outcome,
            "why": result.reason,
            "champion": result.champion,
            "version": result.version,
            "branch": result.branch,
            "appended": result.appended,
            "comparison": result.comparison,
        },
    )
    return result


def _retrain(
    graph: ProjectGraph, policy: RetrainPolicy, progress: Progress, reason: str
) -> RunResult:
    root = graph.root
    model = graph.get(Model, policy.spec.model)
    training = graph.training_of(model)
    dataset = graph.dataset_of(training)
    layout = Layout(graph.artifacts)
    served = champion(graph, model.metadata.name)
    result = RunResult(policy.metadata.name, model.metadata.name, "rejected", "", served)
    progress(f"Retraining Model '{model.metadata.name}' ({reason}); champion: {served or 'none'}")
    source = root / dataset.spec.source.path
    tracked = _dvc_tracked(source)
    backup = _Backup(root, retrain_dir(root, policy.metadata.name) / "backup")
    backup.save([source, *([tracked] if tracked else []), root / "dvc.lock"])
    old_train = _rows_of(root / layout.dataset(dataset.metadata.name).train)
    try:
        keys: list[str] = []
        if policy.spec.data.include_feedback:
            result.appended, keys = append_feedback(graph, policy, dataset, progress)
            progress(
                f"Appended {result.appended} labelled production row(s) to {dataset.spec.source.path}"
            )
            if result.appended and tracked:
                _run(root, [executable("dvc"), "add", dataset.spec.source.path])
        if not result.appended and source_md5(source) == recorded_md5(root, dataset):
            result.reason = (
                "nothing new to train on: no labelled production rows to add, and "
                f"{dataset.spec.source.path} is unchanged since the pipeline last ran"
            )
            return _reject(root, backup, result, progress)
        # The review runs every gate; the profile is the new version's drift reference.
        failed = None
        for stage in (f"review-{model.metadata.name}", f"profile-{dataset.metadata.name}"):
            progress(f"dvc repro {stage}…")
            failed = failed or repro(root, stage)
        if failed:
            result.reason = f"the pipeline failed at {failed[0]}: {failed[1]}"
            return _reject(root, backup, result, progress)
        review = json.loads((root / layout.model(model.metadata.name).review).read_text())
        if not review.get("passed"):
            gates = [
                f"{g['gate']} ({g.get('reason', '')})"
                for g in review.get("gates", [])
                if g.get("status") != "pass"
            ]
            result.reason = "the challenger failed review: " + "; ".join(gates)
            return _reject(root, backup, result, progress)
        result.comparison = compare(graph, policy, model, served, old_train)
        progress(result.comparison["summary"])
        if not result.comparison["challenger_wins"]:
            result.reason = result.comparison["summary"]
            return _reject(root, backup, result, progress)
        changed = [p for p in (tracked or source, root / "dvc.lock") if p is not None]
        message = (
            f"mlform retrain: {model.metadata.name} ({reason})\n\n"
            f"{result.comparison['summary']}\n"
            f"Appended {result.appended} labelled production row(s) to {dataset.spec.source.path}.\n"
        )
        if policy.spec.promotion.mode == "auto":
            _commit(root, changed, message)
            result.outcome, result.reason = "accepted", result.comparison["summary"]
        else:
            result.branch = _propose(root, policy, changed, message)
            backup.restore()
            _run(root, [executable("dvc"), "checkout", "--quiet"], check=False)
            result.outcome = "proposed"
            result.reason = f"committed on branch {result.branch} for review"
            progress(
                f"Committed the retrained pipeline on branch {result.branch}; the workspace is as it was"
            )
        _remember(graph, policy, keys)
        return result
    except BaseException:
        backup.restore()
        raise
    finally:
        backup.discard()


def _reject(root: Path, backup: _Backup, result: RunResult, progress: Progress) -> RunResult:
    backup.restore()
    _run(root, [executable("dvc"), "checkout", "--quiet"], check=False)
    result.outcome = "rejected"
    progress(
        f"Rejected: {result.reason}. Nothing was registered or deployed; the data and dvc.lock are as they were."
    )
    return result


def _promote(
    graph: ProjectGraph, policy: RetrainPolicy, progress: Progress, lock_timeout: float
) -> str | None:
    from mlform.reconcile.run import apply_plan, load

    wanted = load(graph.root, None)
    _, outcome = apply_plan(wanted, None, lock_timeout, progress)
    if not outcome.ok:
        raise UserError(
            "the retrained model was committed but applying it failed: "
            + "; ".join(f"{a}: {m}" for a, m in outcome.failed.items())
        )
    return champion(wanted.graph, policy.spec.model)


# --- data ---------------------------------------------------------------------------------
def _dvc_tracked(source: Path) -> Path | None:
    marker = source.with_name(source.name + ".dvc")
    return marker if marker.is_file() else None


def labelled_rows(
    graph: ProjectGraph, policy: RetrainPolicy
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every labelled prediction of the policy's model not appended before, as dataset rows
    (inputs, the feedback's extra columns, the label as the target)."""
    from mlform.monitoring.window import FEEDBACK, PREDICTION, Corrupt, read_records, rotated
    from mlform.serving.deploy import state_dir

    model = policy.spec.model
    dataset = graph.dataset_of(graph.training_of(graph.get(Model, model)))
    done = _appended(graph, policy)
    rows, keys = [], []
    for deployment in graph.all(Deployment):
        if deployment.spec.model != model or graph.target(deployment) != "local":
            continue
        logs = state_dir(graph.root, deployment.metadata.name) / "logs"
        corrupt = Corrupt()
        labels: dict[tuple[str, int], dict[str, Any]] = {}
        for item in read_records(rotated(logs / "feedback.jsonl"), "", corrupt, FEEDBACK):
            if item.get("model") in (None, model):
                labels[(item["request_id"], int(item.get("row") or 0))] = item
        for record in read_records(rotated(logs / "predictions.jsonl"), "", corrupt, PREDICTION):
            key = (record["request_id"], int(record.get("row") or 0))
            if record.get("model") != model or key not in labels:
                continue
            text = f"{deployment.metadata.name}/{key[0]}/{key[1]}"
            if text in done:
                continue
            feedback = labels.pop(key)
            row = {
                **record["inputs"],
                **(feedback.get("columns") or {}),
                dataset.spec.target: feedback["label"],
            }
            rows.append(row)
            keys.append(text)
    return rows, keys


def _appended(graph: ProjectGraph, policy: RetrainPolicy) -> set[str]:
    path = retrain_dir(graph.root, policy.metadata.name) / "appended.json"
    if not path.is_file():
        return set()
    return set(json.loads(path.read_text()))


def _remember(graph: ProjectGraph, policy: RetrainPolicy, keys: list[str]) -> None:
    if keys:
        path = retrain_dir(graph.root, policy.metadata.name) / "appended.json"
        write_json(path, sorted(_appended(graph, policy) | set(keys)))


def append_feedback(
    graph: ProjectGraph, policy: RetrainPolicy, dataset: Dataset, progress: Progress
) -> tuple[int, list[str]]:
    """Append the labelled rows that have every value the Dataset requires; report the
    others (they stay in the log, and are offered again once complete rows are not)."""
    rows, keys = labelled_rows(graph, policy)
    columns = dataset.spec.columns
    missing: dict[str, int] = {}
    complete, taken = [], []
    for row, key in zip(rows, keys, strict=True):
        lacking = [
            name
            for name, column in columns.items()
            if not column.nullable and row.get(name) in (None, "")
        ]
        for name in lacking:
            missing[name] = missing.get(name, 0) + 1
        if not lacking:
            complete.append(row)
            taken.append(key)
    if missing:
        listed = ", ".join(f"{k} ({n})" for k, n in sorted(missing.items()))
        progress(
            f"note: skipped {len(rows) - len(complete)} labelled row(s) that lack values Dataset "
            f"'{dataset.metadata.name}' requires: {listed}; send them in the feedback's "
            "`columns` (see docs/monitoring.md)"
        )
    if not complete:
        return 0, []
    path = graph.root / dataset.spec.source.path
    fmt = dataset.spec.source.format or ("parquet" if path.suffix == ".parquet" else "csv")
    if fmt == "csv":
        _append_csv(path, complete, columns, dataset.spec.source.delimiter)
    else:
        _append_parquet(path, complete)
    return len(complete), taken


def _cell(value: Any, dtype: str) -> str:
    if value is None:
        return ""
    if dtype == "int" and isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append_csv(
    path: Path, rows: list[dict[str, Any]], columns: dict[str, Any], delimiter: str
) -> None:
    import csv
    import io

    with path.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter=delimiter))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    for row in rows:
        writer.writerow(
            [
                _cell(row.get(name), columns[name].dtype if name in columns else "")
                for name in header
            ]
        )
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    from mlform.runtime.outputs import write_bytes

    write_bytes(path, data + buffer.getvalue().encode("utf-8"))


def _append_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    from mlform.runtime.outputs import write_with

    frame = pd.read_parquet(path)
    extra = pd.DataFrame.from_records(rows, columns=list(frame.columns))
    for name in frame.columns:
        with contextlib.suppress(TypeError, ValueError):  # keep what does not convert
            extra[name] = extra[name].astype(frame[name].dtype)
    combined = pd.concat([frame, extra], ignore_index=True)
    write_with(path, lambda temp: combined.to_parquet(temp, index=False))


class _Backup:
    """Copies of the files a retrain changes, restored exactly (including absence)."""

    def __init__(self, root: Path, folder: Path) -> None:
        self.root, self.folder = root, folder
        self.saved: dict[Path, Path | None] = {}

    def save(self, paths: list[Path]) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        for i, path in enumerate(paths):
            if path.is_file():
                copy = self.folder / f"{i}-{path.name}"
                shutil.copy2(path, copy)
                self.saved[path] = copy
            else:
                self.saved[path] = None

    def restore(self) -> None:
        for path, copy in self.saved.items():
            if copy is None:
                path.unlink(missing_ok=True)
            elif copy.is_file():
                temp = path.with_name(f".{path.name}.restore")
                shutil.copy2(copy, temp)
                os.replace(temp, path)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _row_hashes(frame: Any) -> Any:
    """A hash per row, of its values as text (so a row compares equal across parquet files)."""
    import pandas as pd

    return pd.util.hash_pandas_object(frame.astype(str), index=False)


def _rows_of(path: Path) -> set[int]:
    import pandas as pd

    return set(_row_hashes(pd.read_parquet(path)).tolist()) if path.is_file() else set()


# --- champion / challenger ------------------------------------------------------------------
def compare(
    graph: ProjectGraph,
    policy: RetrainPolicy,
    model: Model,
    served: str | None,
    old_train: set[int],
) -> dict[str, Any]:
    import pandas as pd

    from mlform.catalog.metrics import DEFAULT_METRICS, METRICS
    from mlform.registry import Registry

    root = graph.root
    training = graph.training_of(model)
    dataset = graph.dataset_of(training)
    layout = Layout(graph.artifacts)
    rule = policy.spec.promotion.champion_challenger
    task = graph.estimator(training).task
    metric = rule.metric or (training.spec.metrics or DEFAULT_METRICS[task])[0]
    test = pd.read_parquet(root / layout.dataset(dataset.metadata.name).test)
    unseen = ~_row_hashes(test).isin(old_train)
    note = "rows of the new test split the champion never trained on"
    if int(unseen.sum()) >= 30:
        holdout = test[unseen.to_numpy()]
    else:
        holdout = test
        note = "the new test split (the champion's training rows are unknown or cover it)"
    challenger_path = root / layout.model(model.metadata.name).onnx
    challenger = _evaluate(challenger_path, holdout, dataset, metric)
    out: dict[str, Any] = {
        "metric": metric,
        "holdout_rows": len(holdout),
        "holdout": note,
        "challenger": challenger,
    }
    if served is None:
        out.update(
            champion=None,
            challenger_wins=True,
            summary=f"no champion yet; challenger {metric} {challenger:.4f}",
        )
        return out
    registry = Registry(root)
    version = registry.find(model.metadata.name, served)
    onnx_path = registry.onnx_path(version)
    incumbent = _evaluate(onnx_path, holdout, dataset, metric)
    higher = METRICS[metric].higher_is_better
    gain = (challenger - incumbent) if higher else (incumbent - challenger)
    wins = gain >= rule.min_improvement
    out.update(
        champion=incumbent,
        champion_version=served,
        improvement=gain,
        min_improvement=rule.min_improvement,
        challenger_wins=wins,
    )
    verdict = "wins" if wins else "loses"
    out["summary"] = (
        f"Champion/challenger on {len(holdout)} holdout rows ({note}): {metric} challenger "
        f"{challenger:.4f} vs champion {served} {incumbent:.4f} ({gain:+.4f}; needs ≥ {rule.min_improvement:+g}): challenger {verdict}"
    )
    return out


def _evaluate(onnx_path: Path, frame: Any, dataset: Dataset, metric: str) -> float:
    """The ONNX model's ``metric`` on ``frame``, through onnxruntime, as it is served."""
    import numpy as np
    import onnxruntime as ort

    from mlform.models import onnx_metadata
    from mlform.runtime import export, frames, scores

    meta = onnx_metadata(onnx_path)

    columns = {name: {"dtype": c.dtype} for name, c in dataset.spec.columns.items()}
    inputs = [i["name"] for i in meta.get("inputs") or []]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    X = frames.model_frame(frame, columns, inputs)
    outputs = dict(
        zip(
            names,
            session.run(None, export.feeds(X, export.signature(columns, inputs))),
            strict=True,
        )
    )
    truth = frame[dataset.spec.target].to_numpy()
    if meta.get("task") == "classification":
        classes = list(meta.get("classes") or [])
        probabilities = outputs.get("probabilities")
        values = scores.classification(
            truth, np.asarray(outputs[names[0]]).ravel(), probabilities, classes, [metric]
        )
    else:
        values = scores.regression(truth, np.asarray(outputs[names[0]]).ravel(), [metric])
    if metric not in values:
        raise UserError(f"{metric} cannot be computed for {onnx_path.name} on the holdout")
    return float(values[metric])


# --- git and dvc ----------------------------------------------------------------------------
def _run(root: Path, command: list[str], check: bool = True, **env: str) -> str:
    done = subprocess.run(
        command, cwd=root, capture_output=True, text=True, check=False, env=dvc_env(**env)
    )
    if check and done.returncode != 0:
        shown = " ".join([Path(command[0]).name, *command[1:]])
        raise UserError(f"`{shown}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def _git_ready(root: Path) -> None:
    try:
        _run(root, ["git", "rev-parse", "--verify", "HEAD"])
    except UserError:
        raise UserError(
            "retraining commits its result, so the project must be a git repository with a first commit"
        ) from None


def _relative(root: Path, paths: list[Path]) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


def _commit(root: Path, paths: list[Path], message: str) -> str:
    names = _relative(root, paths)
    _run(root, ["git", "add", "--", *names])
    _run(root, ["git", "commit", "--quiet", "--only", "-m", message, "--", *names])
    return _run(root, ["git", "rev-parse", "HEAD"]).strip()


def _propose(root: Path, policy: RetrainPolicy, paths: list[Path], message: str) -> str:
    """Commit ``paths`` on a new branch off HEAD without touching the current branch."""
    branch = f"{policy.spec.promotion.branch_prefix}{policy.spec.model}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    # A throwaway index: neither the user's index nor the workspace is touched.
    index = str(root / ".mlform" / "retrain" / f"index-{os.getpid()}")
    try:
        _run(root, ["git", "read-tree", "HEAD"], GIT_INDEX_FILE=index)
        _run(root, ["git", "add", "--", *_relative(root, paths)], GIT_INDEX_FILE=index)
        tree = _run(root, ["git", "write-tree"], GIT_INDEX_FILE=index).strip()
        commit = _run(root, ["git", "commit-tree", tree, "-p", "HEAD", "-m", message]).strip()
        _run(root, ["git", "branch", branch, commit])
    finally:
        Path(index).unlink(missing_ok=True)
    return branch
