"""Commands: options in, one API call, an exit code out. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

import click

from mlform.cli.options import FORMAT, PATH_ARG
from mlform.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlform")
def cli() -> None:
    """mlform: your ML lifecycle as versioned YAML, compiled and reconciled."""


@cli.command()
@PATH_ARG
@FORMAT
def validate(path: Path, output: str) -> int:
    """Check every spec of the project containing PATH; exit 1 when any error is found."""
    from mlform import api
    from mlform.cli.output import print_validation

    result = api.validate(path)
    print_validation(result, output)
    return 0 if result.valid else 1


def _register() -> None:
    from mlform.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


_register()
