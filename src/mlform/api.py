"""mlform's programmatic API: what the command line calls, and what a platform team's own
CI script or notebook calls.

Every function takes the project's folder (or a path inside it) and returns a typed value.
Invalid specs raise :class:`SpecInvalid`, carrying every diagnostic; refused operations and
bad input raise :class:`UserError` with a message (and often a hint) for a person. Heavy
libraries are imported only by the functions that need them.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlform.clock import duration_seconds
from mlform.errors import UserError

if TYPE_CHECKING:
    from mlform.compiler import CompileResult
    from mlform.monitoring.monitor import Outcome
    from mlform.project import ProjectGraph
    from mlform.reconcile.apply import Outcome as ApplyOutcome
    from mlform.reconcile.changes import Plan
    from mlform.reconcile.selection import Request
    from mlform.reconcile.status import Status
    from mlform.retraining.feedback_log import Dropped as DroppedFeedback
    from mlform.retraining.feedback_log import Record as FeedbackRecord
    from mlform.retraining.run import RunResult
    from mlform.retraining.triggers import Decision
    from mlform.validation import ValidationResult

PathLike = str | os.PathLike[str]
Progress = Callable[[str], None]
Duration = float | str  # seconds, or a duration such as "30s" or "5m"


def _path(path: PathLike) -> Path:
    return Path(path)


def _seconds(value: Duration) -> float:
    return duration_seconds(value) if isinstance(value, str) else float(value)


def _quiet(message: str) -> None:
    del message


@contextmanager
def _building() -> Iterator[None]:
    """The cyclic garbage collector paused while a project's graph is built: reading,
    rendering and planning thousands of documents allocate millions of objects that all
    live on, which the collector would otherwise walk again and again (a third of the time
    of reading 4,000 spec files). What becomes garbage meanwhile is collected after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def load(path: PathLike = ".", env: str | None = None) -> ProjectGraph:
    """The project containing ``path``, validated and resolved (with ``env``'s overlays).

    Raises SpecInvalid with every diagnostic of every file when the specs have errors.
    """
    from mlform.validation import load as load_project

    with _building():
        return load_project(_path(path), env)


def validate(path: PathLike = ".", env: str | None = None) -> ValidationResult:
    """Every diagnostic of every spec file; never raises for bad specs (see ``.valid``)."""
    from mlform.validation import validate as run

    with _building():
        return run(_path(path), env)


def compile(path: PathLike = ".", *, check: bool = False) -> CompileResult:
    """Render the DVC pipeline, cluster deployments and Prometheus rules of the default
    environment and every declared one, and write them (all or none). ``check``: write
    nothing; ``.changed`` lists the stale files."""
    from mlform.compiler import compile_project
    from mlform.validation import load_environments

    with _building():
        graph, others = load_environments(_path(path))
        return compile_project(graph, check=check, environments=others)


def plan(
    path: PathLike = ".",
    env: str | None = None,
    *,
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    selector: str | None = None,
) -> Plan:
    """What ``apply`` would do: the specs against the recorded state and the world.

    ``targets`` (resource addresses) and ``selector`` (a label selector, kubectl's grammar)
    plan only what they pick and its dependencies; ``excludes`` leave out the addressed
    resources and what depends on them (see :mod:`mlform.reconcile.selection`)."""
    from mlform.reconcile.run import plan_for

    request = _request(targets, excludes, selector)
    with _building():
        return plan_for(load(path, env), env, request)[0]


def _request(targets: Sequence[str], excludes: Sequence[str], selector: str | None) -> Request:
    """The targeting asked for; a selector that does not parse is refused before any work."""
    from mlform.reconcile.selection import Request
    from mlform.reconcile.selector import parse

    if selector is not None:
        parse(selector)
    return Request(tuple(targets), tuple(excludes), selector)


def read_plan(path: PathLike) -> Plan:
    """A plan saved by ``mlform plan --out FILE`` (``Plan.to_json``)."""
    from mlform.reconcile.changes import Plan

    file = _path(path)
    try:
        return Plan.from_json(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{file} is not a plan saved by `mlform plan --out` ({error})") from None


@dataclass(frozen=True)
class Applied:
    """What an apply (or destroy) did: the plan it carried out and each resource's fate."""

    plan: Plan
    outcome: ApplyOutcome

    @property
    def ok(self) -> bool:
        return self.outcome.ok


def apply(
    path: PathLike = ".",
    env: str | None = None,
    *,
    saved: Plan | PathLike | None = None,
    lock_timeout: Duration = 0,
    progress: Progress | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    serve: bool = True,
    targets: Sequence[str] = (),
    excludes: Sequence[str] = (),
    selector: str | None = None,
) -> Applied:
    """Make the world match the specs: lock the environment, plan (or check that the
    ``saved`` plan is still current), ``confirm`` it if given, apply, record the state.
    ``serve=False``: local servers are left to the checkout that runs them (a CI runner).
    ``targets``, ``excludes``, ``selector``: apply a part of the graph, as :func:`plan`
    (a saved plan carries its own); the applied revision advances only when nothing
    outside that part has changes."""
    request = _request(targets, excludes, selector)
    if saved is not None and request.active:
        raise UserError(
            "a saved plan carries its own targeting: give no --target, --exclude or "
            "--selector with it",
            hint="Make a new plan with them: mlform plan --target … --out plan.json",
        )
    return _apply(
        path,
        env,
        saved,
        lock_timeout,
        progress,
        confirm,
        destroy=False,
        serve=serve,
        request=request,
    )


def destroy(
    path: PathLike = ".",
    env: str | None = None,
    *,
    lock_timeout: Duration = 0,
    progress: Progress | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    serve: bool = True,
) -> Applied:
    """Tear the environment down: stop its servers, remove rendered deployments, forget
    its state (resources with prevent_destroy refuse)."""
    return _apply(path, env, None, lock_timeout, progress, confirm, destroy=True, serve=serve)


def _apply(
    path: PathLike,
    env: str | None,
    saved: Plan | PathLike | None,
    lock_timeout: Duration,
    progress: Progress | None,
    confirm: Callable[[Plan], bool] | None,
    *,
    destroy: bool,
    serve: bool = True,
    request: Request | None = None,
) -> Applied:
    from mlform.reconcile.changes import Plan
    from mlform.reconcile.run import apply_plan, desired_state, destroy_plan

    prior = saved if isinstance(saved, Plan) or saved is None else read_plan(saved)
    if prior is not None and env is None and prior.environment != "default":
        env = prior.environment
    with _building():
        wanted = desired_state(load(path, env), env)
    if destroy:
        wanted = destroy_plan(wanted)
    done, outcome = apply_plan(
        wanted,
        prior,
        _seconds(lock_timeout),
        progress or _quiet,
        confirm,
        "destroy" if destroy else "apply",
        serve=serve,
        request=request,
    )
    return Applied(done, outcome)


def status(path: PathLike = ".", env: str | None = None) -> Status:
    """Sync and health of every resource (Argo CD's two statuses), and the revisions."""
    from mlform.reconcile.status import status as run

    with _building():
        return run(load(path, env), env)


def monitor(
    path: PathLike, name: str, *, window: str | None = None, source: PathLike | None = None
) -> Outcome:
    """Score a Monitor's window of traffic (the local server's log, or ``source``) against
    the served version's training data; write result.json, report.html, metrics.prom."""
    from mlform.monitoring.monitor import run

    return run(load(path), name, window, None if source is None else _path(source))


def retrain_check(path: PathLike = ".", *, model: str | None = None) -> list[Decision]:
    """Evaluate every RetrainPolicy (or ``model``'s): triggers, cooldown, maximum
    frequency; each decision is logged with why."""
    from mlform.retraining.triggers import check

    return check(load(path), model=model)


def retrain_due(
    path: PathLike, decisions: list[Decision], *, progress: Progress | None = None
) -> list[RunResult]:
    """Retrain every model the ``decisions`` say is due, one after another."""
    from mlform.retraining.run import run_due

    return run_due(load(path), decisions, progress or _quiet)


def retrain(
    path: PathLike,
    model: str,
    *,
    policy: str | None = None,
    reason: str = "requested by hand",
    lock_timeout: Duration = 0,
    progress: Progress | None = None,
    force: bool = False,
) -> RunResult:
    """Retrain ``model`` now: feedback, the pipeline, every gate, champion against
    challenger, then promote or propose as its RetrainPolicy says. Inputs rejected before
    are skipped unless ``force``."""
    from mlform.retraining.run import run

    return run(load(path), model, progress or _quiet, policy, reason, _seconds(lock_timeout), force)


def feedback_records(
    path: PathLike, model: str, *, deployment: str | None = None
) -> list[FeedbackRecord]:
    """The labelled feedback ``model``'s local Deployments logged, with each record's id and
    status (pending, taken by a retrain, superseded by a later label, unjoined)."""
    from mlform.retraining.feedback_log import records

    return records(load(path), model, deployment)


def feedback_drop(
    path: PathLike,
    model: str,
    *,
    ids: list[str] | None = None,
    before: str | None = None,
    everything: bool = False,
    deployment: str | None = None,
) -> DroppedFeedback:
    """Remove feedback records (by id, logged before a time, or all): each log rewritten
    atomically, its old content kept in ``.mlform/feedback-backup/``."""
    from mlform.retraining.feedback_log import drop

    return drop(load(path), model, list(ids or []), before, everything, deployment)
