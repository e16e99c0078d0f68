"""`mlform monitor run` and `mlform retrain check|run`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlform import api
from mlform.cli import reports
from mlform.cli.options import FORMAT, PROJECT


@click.group()
def monitor() -> None:
    """Drift, performance, fairness and data quality of deployed models."""


@monitor.command(name="run")
@click.argument("name", metavar="MONITOR")
@click.option("--window", help="How far back to look, e.g. 30m, 1h, 7d (default: the Monitor's).")
@click.option(
    "--input",
    "source",
    type=click.Path(path_type=Path),
    help="Score this file instead of the server's log: a prediction log (.jsonl) or a table "
    "of inputs (.csv, .parquet).",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when an alert condition holds (drift; performance or fairness out of bounds; data quality).",
)
@FORMAT
@PROJECT
def run_monitor(
    name: str,
    window: str | None,
    source: Path | None,
    detailed_exitcode: bool,
    output: str,
    path: Path,
) -> int:
    """Score the Deployment's recent traffic against the served version's training data."""
    outcome = api.monitor(path, name, window=window, source=source)
    for warning in outcome.result.warnings:  # the window is not whole: on stderr, whatever -o
        click.echo(warning, err=True)
    if output == "json":
        click.echo(json.dumps(outcome.result.to_json(), indent=2, default=str))
    else:
        click.echo(reports.monitor_text(outcome.result, outcome.folder))
    return 2 if detailed_exitcode and outcome.alerts else 0


@click.group()
def retrain() -> None:
    """Automated retraining under RetrainPolicies."""


@retrain.command(name="check")
@click.option("--model", help="Only this Model's policies.")
@click.option("--run", "then_run", is_flag=True, help="Retrain every model whose policy says so.")
@FORMAT
@PROJECT
def retrain_check(model: str | None, then_run: bool, output: str, path: Path) -> int:
    """Evaluate every RetrainPolicy's triggers, cooldown and frequency; log the decisions.

    Exit 0 when nothing needs retraining (or --run promoted or proposed it), 2 when a retrain
    is due and --run was not given or its challenger was rejected, 1 on errors."""
    decisions = api.retrain_check(path, model=model)
    if output == "json":
        click.echo(json.dumps([d.to_json() for d in decisions], indent=2))
    else:
        click.echo(reports.decisions_text(decisions))
    if not then_run:
        return 2 if any(d.retrain for d in decisions) else 0
    runs = api.retrain_due(path, decisions, progress=click.echo)
    for done in runs:
        click.echo(reports.run_line(done))
    return 2 if any(done.outcome == "rejected" for done in runs) else 0


@retrain.command(name="run")
@click.argument("model")
@click.option("--policy", help="The RetrainPolicy, when the Model has several.")
@click.option("--reason", default="requested by hand", show_default=True)
@click.option(
    "--force",
    is_flag=True,
    help="Retrain even when a challenger on the same inputs was rejected before.",
)
@PROJECT
def retrain_run(model: str, policy: str | None, reason: str, force: bool, path: Path) -> int:
    """Retrain MODEL now: new data and feedback, the pipeline, every gate, champion vs
    challenger, then promote or propose as the policy says. Exit 0 when promoted or
    proposed, 2 when the challenger was rejected or the inputs were rejected before."""
    done = api.retrain(path, model, policy=policy, reason=reason, progress=click.echo, force=force)
    tail = f" ({done.version})" if done.version else ""
    click.echo(f"Retrain {done.outcome}{tail}: {done.reason}")
    return 2 if done.outcome in ("rejected", "skipped") else 0
