"""`mlform models …`: the registry from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlform import api
from mlform.cli.options import PROJECT


@click.group()
def models() -> None:
    """Model versions (git tags in GTO's format) and their stages."""


@models.command(name="register")
@click.argument("name")
@click.option(
    "--bump",
    "part",
    type=click.Choice(["major", "minor", "patch"]),
    help="Override the Model's registry.bump policy.",
)
@PROJECT
def register_(name: str, part: str | None, path: Path) -> int:
    """Register NAME's reviewed ONNX model as a new version (only if review passed)."""
    from mlform.models import register

    done = register(api.load(path), name, part)
    click.echo(
        f"Registered {done.version.tag} at {done.version.commit[:8]} ({done.reason}); ONNX stored in {done.path.parent}."
    )
    return 0


@models.command(name="list")
@click.option("--json", "as_json", is_flag=True)
@PROJECT
def list_(as_json: bool, path: Path) -> int:
    """Every declared model with its latest version and stages."""
    from mlform.models import overview

    rows = overview(api.load(path))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    header = ("MODEL", "LATEST", "VERSIONS", "STAGES")
    table = [
        (
            r["model"],
            r["latest"] or "-",
            str(r["versions"]),
            ", ".join(f"{s}: {v}" for s, v in sorted(r["stages"].items())) or "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(4)]
    for row in [header, *table]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


@models.command(name="show")
@click.argument("reference", metavar="NAME[@VERSION]")
@click.option("--json", "as_json", is_flag=True)
@PROJECT
def show(reference: str, as_json: bool, path: Path) -> int:
    """One version: its record, stages and the stage history."""
    from mlform.models import describe

    info = describe(api.load(path), reference)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return 0
    record = info["record"]
    click.echo(f"{info['tag']}  (commit {info['commit'][:8]}, {info['created']})")
    click.echo(f"  stages:   {', '.join(info['stages']) or '-'}")
    click.echo(f"  sha256:   {record.get('sha256', '?')}")
    click.echo(f"  data:     {record.get('data_hash', '?')}")
    metrics = record.get("metrics", {})
    click.echo("  metrics:  " + (", ".join(f"{k} {v:.4f}" for k, v in metrics.items()) or "-"))
    click.echo(
        "  review:   " + (", ".join(f"{k} {v}" for k, v in record.get("review", {}).items()) or "-")
    )
    if record.get("signature"):
        click.echo(
            "  inputs:   "
            + ", ".join(
                f"{i['name']}"
                + (f" = column '{i['column']}'" if "column" in i else "")
                + f" ({i['datatype']})"
                for i in record["signature"]
            )
        )
    if info["history"]:
        click.echo("  history:")
        for event in info["history"]:
            what = (
                f"{event['version']} → {event['stage']}"
                if event["version"]
                else f"{event['stage']} unassigned"
            )
            click.echo(f"    {event['at']}  {event['tag']}  {what}")
    return 0


@models.command(name="promote")
@click.argument("reference", metavar="NAME@VERSION")
@click.argument("stage")
@PROJECT
def promote_(reference: str, stage: str, path: Path) -> int:
    """Assign STAGE to a version (a `name#stage#N` git tag)."""
    from mlform.models import promote

    tag = promote(api.load(path), reference, stage)
    click.echo(f"Created {tag}: {reference} is now in '{stage}'.")
    return 0


@models.command(name="pull")
@click.argument("reference", metavar="NAME@VERSION")
@PROJECT
def pull_(reference: str, path: Path) -> int:
    """Fetch a registered version's files from the DVC remote into the local store."""
    from mlform.models import pull

    stored = pull(api.load(path), reference)
    click.echo(f"Pulled {reference} into {stored.parent} (sha256 checked).")
    return 0
