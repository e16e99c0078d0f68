"""`mlform experiments …` and `mlform metrics diff`."""

from __future__ import annotations

from pathlib import Path

import click

from mlform.cli.options import PROJECT

FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["table", "markdown", "json"]),
    default="table",
    show_default=True,
)


def _root(path: Path) -> Path:
    from mlform.workspace import find_root

    return find_root(path)


def _emit(table: object, output: str) -> None:
    import json

    from mlform.experiments import Table

    assert isinstance(table, Table)
    if output == "json":
        click.echo(json.dumps(table.records, indent=2))
    elif output == "markdown":
        click.echo(table.markdown())
    else:
        click.echo(table.text())


@click.group()
def experiments() -> None:
    """Run and compare DVC experiments with spec-level parameter names."""


@experiments.command(name="run")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="e.g. training.credit-gbm.max_iter=200 (repeatable).",
)
@click.option("--name", help="A name for the experiment.")
@PROJECT
def run_(sets: tuple[str, ...], name: str | None, path: Path) -> int:
    """Run the pipeline as a DVC experiment, in a temporary copy of the workspace."""
    from mlform.experiments import run

    return run(_root(path), list(sets), name)


@experiments.command(name="show")
@FORMAT
@click.option(
    "--all", "all_metrics", is_flag=True, help="Every metrics file, not only test metrics."
)
@PROJECT
def show_(output: str, all_metrics: bool, path: Path) -> int:
    """Params that differ and test metrics of the workspace, commits and experiments."""
    from mlform.experiments import show

    _emit(show(_root(path), all_metrics), output)
    return 0


@click.group()
def metrics() -> None:
    """Metrics of the pipeline."""


@metrics.command(name="diff")
@click.argument("revision", default="HEAD")
@FORMAT
@click.option("--all", "all_metrics", is_flag=True, help="Unchanged metrics too.")
@PROJECT
def diff(revision: str, output: str, all_metrics: bool, path: Path) -> int:
    """Metric deltas of the workspace against REVISION (default HEAD)."""
    from mlform.experiments import metrics_diff

    table = metrics_diff(_root(path), revision, all_metrics)
    if not table.rows:
        click.echo(f"No metric changed against {revision}.")
        return 0
    _emit(table, output)
    return 0
