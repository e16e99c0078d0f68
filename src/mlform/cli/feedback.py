"""`mlform feedback list|drop MODEL`: the labelled feedback of a Model's local servers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlform import api
from mlform.cli.options import FORMAT, PROJECT

DEPLOYMENT = click.option("--deployment", help="Only this local Deployment's log.")


@click.group()
def feedback() -> None:
    """Labelled production feedback, as retraining takes it."""


@feedback.command(name="list")
@click.argument("model")
@DEPLOYMENT
@FORMAT
@PROJECT
def list_(model: str, deployment: str | None, output: str, path: Path) -> int:
    """Every feedback record of MODEL: id, time, deployment, request, label and status
    (pending: the next retrain takes it; taken; superseded by a later label for the same
    prediction; unjoined: no logged prediction)."""
    found = api.feedback_records(path, model, deployment=deployment)
    if output == "json":
        click.echo(json.dumps([r.to_json() for r in found], indent=2))
        return 0
    if not found:
        click.echo(f"No feedback logged for Model '{model}'.")
        return 0
    header = ["ID", "TIME", "DEPLOYMENT", "REQUEST:ROW", "LABEL", "STATUS"]
    rows = [
        [r.id, r.timestamp, r.deployment, f"{r.request_id}:{r.row}", str(r.label), r.status]
        for r in found
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    counts: dict[str, int] = {}
    for record in found:
        counts[record.status] = counts.get(record.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(f"{len(found)} feedback record(s) of Model '{model}': {summary}")
    return 0


@feedback.command(name="drop")
@click.argument("model")
@click.option("--id", "ids", multiple=True, metavar="ID", help="A record's id (repeatable).")
@click.option("--before", metavar="TIME", help="Records logged before a UTC time, or e.g. 7d ago.")
@click.option("--all", "everything", is_flag=True, help="Every record.")
@DEPLOYMENT
@PROJECT
def drop(
    model: str,
    ids: tuple[str, ...],
    before: str | None,
    everything: bool,
    deployment: str | None,
    path: Path,
) -> int:
    """Remove feedback records from the logs (a backup of each file is kept)."""
    done = api.feedback_drop(
        path, model, ids=list(ids), before=before, everything=everything, deployment=deployment
    )
    if not done.records:
        click.echo(f"No feedback record of Model '{model}' to drop.")
        return 0
    click.echo(f"Dropped {len(done.records)} feedback record(s) of Model '{model}'.")
    for backup in done.backups:
        click.echo(f"  backup: {backup}")
    return 0
