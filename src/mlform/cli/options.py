"""The options several commands share, defined once."""

from __future__ import annotations

from pathlib import Path

import click


def duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """A duration as specs write one (``30s``, ``5m``, ``1h30m``, ``7d``, ``0``), in seconds."""
    from mlform.clock import duration_seconds
    from mlform.errors import UserError

    try:
        return duration_seconds(value)
    except UserError as error:
        raise click.BadParameter(error.message, ctx, param) from None


PATH_ARG = click.argument(
    "path", required=False, default=".", type=click.Path(path_type=Path, exists=True)
)
PROJECT = click.option(
    "--project",
    "path",
    type=click.Path(path_type=Path, exists=True),
    default=Path("."),
    show_default=True,
    help="The project (or a path inside it).",
)
ENV = click.option("--env", "environment", help="The environment (its overlays and its own state).")
LOCK = click.option(
    "--lock-timeout",
    callback=duration,
    default="0s",
    show_default=True,
    help="How long to wait for another operation's lock, e.g. 30s, 5m.",
)
FORMAT = click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
SERVE = click.option(
    "--no-serve",
    "no_serve",
    is_flag=True,
    help="Leave local servers to the checkout that runs them (a CI runner serves nothing).",
)
TARGET = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDRESS",
    help="Only this resource (e.g. model.credit-risk, Model/credit-risk) and what it "
    "depends on; repeatable. For exceptional cases and a team's scope.",
)
EXCLUDE = click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="ADDRESS",
    help="Everything but this resource and what depends on it; repeatable.",
)
SELECTOR = click.option(
    "--selector",
    "-l",
    "selector",
    metavar="SELECTOR",
    help="Only the specs whose metadata.labels match (kubectl's grammar: team=risk, "
    "tier in (a,b), !legacy; commas join) and what they depend on.",
)
