"""One retrain (`mlform retrain run MODEL`), under the environment's lock, in a scratch git
worktree (``scratch``) so the workspace is touched only by an accepted ``auto`` retrain:

0. inputs whose challenger was rejected before (``fingerprint``) are skipped (``force``:
   tried again);
1. labelled production feedback appended to the Dataset's source (``include_feedback``),
   ``dvc add``-ed when DVC tracks it;
2. ``dvc repro`` of the Model's review (every gate) and of the Dataset's profile (the new
   version's drift reference);
3. the challenger against the champion on a common holdout;
4. promotion (the data, ``dvc.lock`` and outputs carried back and committed, then applied),
   proposal (a branch committed from the scratch), or rejection (the scratch removed:
   nothing registered, nothing deployed, the workspace as it was).

Every run is logged in the policy's ``runs.jsonl``, with its inputs' fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.clock import stamp
from mlform.engines.dvc import Dvc
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.layout import Layout, retrain_dir
from mlform.models import shared_remote
from mlform.project import ProjectGraph
from mlform.retraining import fingerprint, ledger, promotion
from mlform.retraining.backup import Backup
from mlform.retraining.challenger import Comparison, compare, rows_of
from mlform.retraining.feedback import append_feedback, dvc_tracked
from mlform.retraining.scratch import carry_back, scratch
from mlform.retraining.triggers import Decision, champion, policies, recorded_md5, source_md5
from mlform.spec import Dataset, Model, RetrainPolicy

Progress = Callable[[str], None]


@dataclass
class RunResult:
    policy: str
    model: str
    outcome: str  # promoted | proposed | rejected | skipped (accepted: promotion pending)
    reason: str
    champion: str | None
    version: str | None = None
    branch: str | None = None
    appended: int = 0
    comparison: Comparison | None = None
    fingerprint: str | None = None  # of the inputs (fingerprint.py)
    trained: bool = False  # a challenger was trained

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "model": self.model,
            "outcome": self.outcome,
            "why": self.reason,
            "champion": self.champion,
            "version": self.version,
            "branch": self.branch,
            "appended": self.appended,
            "comparison": self.comparison.to_json() if self.comparison else {},
            "fingerprint": self.fingerprint,
            "trained": self.trained,
        }


def choose(graph: ProjectGraph, model: str, policy: str | None) -> RetrainPolicy:
    found = policies(graph, model)
    if policy is not None:
        found = [p for p in found if p.metadata.name == policy]
        if not found:
            raise UserError(f"Model '{model}' has no RetrainPolicy '{policy}'")
    if len(found) > 1:
        raise UserError(
            f"Model '{model}' has {len(found)} RetrainPolicies; say which with --policy "
            f"({', '.join(p.metadata.name for p in found)})"
        )
    return found[0]


def run(
    graph: ProjectGraph,
    model_name: str,
    progress: Progress,
    policy_name: str | None = None,
    reason: str = "requested by hand",
    lock_timeout: float = 0.0,
    force: bool = False,
) -> RunResult:
    """One retrain; inputs whose challenger was rejected before are skipped (``force``:
    tried again)."""
    from mlform.reconcile.state import DEFAULT_ENV, backend_of, hold

    policy = choose(graph, model_name, policy_name)
    root = graph.root
    Git(root).require_head("retraining commits its result")
    name = policy.metadata.name
    record: dict[str, Any] = {"started": stamp(), "reason": reason}
    try:
        with hold(backend_of(graph, DEFAULT_ENV), DEFAULT_ENV, "retrain", lock_timeout, progress):
            served = champion(graph, model_name)
            inputs = fingerprint.of(graph, policy, served)
            again = None if force else fingerprint.rejected_before(root, name, inputs)
            if again:
                result = RunResult(name, model_name, "skipped", again, served)
            else:
                result = _retrain(graph, policy, progress, reason)
            result.fingerprint = inputs.sha256
        if result.outcome == "accepted" and policy.spec.promotion.mode == "auto":
            result.version = promotion.apply_committed(graph, policy, progress, lock_timeout)
            result.outcome = "promoted"
    except UserError as error:
        # Input that cannot be used (feedback without the dataset's columns, a busy lock)
        # is not an attempt: it does not start a cooldown.
        ledger.append(
            root, name, ledger.RUNS, {**record, "outcome": "error", "reason": error.message}
        )
        raise
    summary = result.to_json()
    for key in ("policy", "model"):
        summary.pop(key)
    ledger.append(root, name, ledger.RUNS, {**record, "finished": stamp(), **summary})
    return result


def run_due(graph: ProjectGraph, decisions: list[Decision], progress: Progress) -> list[RunResult]:
    """Retrain every model a check said is due, one after another (`retrain check --run`)."""
    from mlform.validation import load

    results = []
    for decision in decisions:
        if not decision.retrain:
            continue
        reason = "; ".join(f"{i['trigger']}: {i['why']}" for i in decision.fired)
        results.append(run(graph, decision.model, progress, decision.policy, reason))
        graph = load(graph.root)  # a promotion committed: read the project again
    return results


def _retrain(
    graph: ProjectGraph, policy: RetrainPolicy, progress: Progress, reason: str
) -> RunResult:
    """The challenger made and judged in a scratch worktree (``scratch``): the workspace is
    changed only when an ``auto`` challenger wins, and then only by what is committed."""
    root = graph.root
    model = graph.get(Model, policy.spec.model)
    dataset = graph.dataset_of(graph.training_of(model))
    layout = Layout(graph.artifacts)
    served = champion(graph, model.metadata.name)
    result = RunResult(policy.metadata.name, model.metadata.name, "rejected", "", served)
    progress(f"Retraining Model '{model.metadata.name}' ({reason}); champion: {served or 'none'}")
    source = root / dataset.spec.source.path
    tracked = dvc_tracked(source)
    old_train = rows_of(root / layout.dataset(dataset.metadata.name).train)
    with scratch(root, policy.metadata.name, source, tracked) as work:
        keys = _take_feedback(graph, policy, dataset, result, work, tracked is not None, progress)
        if not result.appended and source_md5(source) == recorded_md5(root, dataset):
            result.reason = (
                "nothing new to train on: no labelled production rows to add, and "
                f"{dataset.spec.source.path} is unchanged since the pipeline last ran"
            )
            return _reject(result, progress)
        result.trained = True
        failed = _reproduce(work, graph, model, dataset, progress)
        if failed:
            result.reason = failed
            return _reject(result, progress)
        result.comparison = compare(graph, policy, model, served, old_train, work)
        progress(result.comparison.summary)
        if not result.comparison.challenger_wins:
            result.reason = result.comparison.summary
            return _reject(result, progress)
        message = (
            f"mlform retrain: {model.metadata.name} ({reason})\n\n"
            f"{result.comparison.summary}\n"
            f"Appended {result.appended} labelled production row(s) to {dataset.spec.source.path}.\n"
        )
        # dvc.lock goes with the data where the branch tracks it; otherwise the registered
        # version's tag holds it (see reconcile/pipeline.py)
        lock = ["dvc.lock"] if Git(root).tracked("dvc.lock") else []
        data = (tracked or source).relative_to(root).as_posix()
        _settle(root, work, policy, result, [data, *lock], message, progress, graph)
        ledger.remember(root, policy.metadata.name, keys)
        return result


def _take_feedback(
    graph: ProjectGraph,
    policy: RetrainPolicy,
    dataset: Dataset,
    result: RunResult,
    work: Path,
    tracked: bool,
    progress: Progress,
) -> list[str]:
    if not policy.spec.data.include_feedback:
        return []
    result.appended, keys = append_feedback(graph, policy, dataset, progress, work)
    progress(f"Appended {result.appended} labelled production row(s) to {dataset.spec.source.path}")
    if result.appended and tracked:
        Dvc(work).add(dataset.spec.source.path)
    return keys


def _reproduce(
    work: Path, graph: ProjectGraph, model: Model, dataset: Dataset, progress: Progress
) -> str | None:
    """Run the review (every gate) and the profile (the new version's drift reference);
    why the challenger is out, or None. The scratch's dvc.yaml and params.yaml are first
    rendered from the specs, as apply would: specs committed without `mlform compile` are
    what the challenger is trained from, not the files they left behind."""
    from mlform.fsutil import write_all
    from mlform.targets.dvc import render_pipeline

    write_all((work / f.path, f.data) for f in render_pipeline(graph))
    for stage in (f"review-{model.metadata.name}", f"profile-{dataset.metadata.name}"):
        progress(f"dvc repro {stage}…")
        failure = Dvc(work).repro(stage).failure
        if failure is not None:
            return f"the pipeline failed at {failure.stage}: {failure.message}"
    review_file = work / Layout(graph.artifacts).model(model.metadata.name).review
    review = json.loads(review_file.read_text())
    if review.get("passed"):
        return None
    gates = [
        f"{g['gate']} ({g.get('reason', '')})"
        for g in review.get("gates", [])
        if g.get("status") != "pass"
    ]
    return "the challenger failed review: " + "; ".join(gates)


def _settle(
    root: Path,
    work: Path,
    policy: RetrainPolicy,
    result: RunResult,
    changed: list[str],
    message: str,
    progress: Progress,
    graph: ProjectGraph,
) -> None:
    """Commit the winner: on the current branch, its data, ``dvc.lock`` and outputs carried
    back from the scratch (auto; applied after the lock is released), or on a new branch
    for review, straight from the scratch (propose: the workspace is not touched)."""
    assert result.comparison is not None
    if policy.spec.promotion.mode == "auto":
        backup = Backup(root, retrain_dir(root, policy.metadata.name) / "backup")
        try:
            carry_back(work, root, [root / c for c in changed], backup)
            promotion.commit(root, [root / c for c in changed], message)
        except BaseException:
            backup.restore()  # a failed commit leaves the workspace as it was
            raise
        finally:
            backup.discard()
        result.outcome, result.reason = "accepted", result.comparison.summary
        return
    paths = [work / c for c in changed]
    result.branch = promotion.propose(work, policy, paths, message, shared_remote(graph))
    result.outcome = "proposed"
    result.reason = f"committed on branch {result.branch} for review"
    progress(
        f"Committed the retrained pipeline on branch {result.branch}; the workspace is as it was"
    )


def _reject(result: RunResult, progress: Progress) -> RunResult:
    result.outcome = "rejected"
    progress(
        f"Rejected: {result.reason}. Nothing was registered or deployed; the workspace is "
        "as it was."
    )
    return result
