"""Commands: options in, one API call, an exit code out. Nothing else lives here."""

from __future__ import annotations

from pathlib import Path

import click

from mlform import __version__

PATH_ARG = click.argument(
    "path", required=False, default=".", type=click.Path(path_type=Path, exists=True)
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlform")
def cli() -> None:
    """mlform: your ML lifecycle as versioned YAML, compiled and reconciled."""


@cli.command()
@PATH_ARG
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def validate(path: Path, output: str) -> int:
    """Check every spec of the project containing PATH; exit 1 when any error is found."""
    from mlform.cli.output import print_validation
    from mlform.validate import validate as run

    result = run(path)
    print_validation(result, output)
    return 0 if result.valid else 1


def _register() -> None:
    from mlform.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


_register()
