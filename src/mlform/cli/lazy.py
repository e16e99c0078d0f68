"""A click group whose commands are imported only when one of them runs.

`mlform validate` then imports neither the server's, the reconciler's nor the monitor's code,
and `mlform --help` lists every command from a table of short helps, importing none. A test
(tests/test_cli.py) checks that the table says what each command's own help says.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class Lazy:
    """Where a command lives, and what `mlform --help` says of it without importing it."""

    module: str
    attribute: str
    help: str  # the first paragraph of the command's help: click shortens it for the listing
    hidden: bool = False


class LazyGroup(click.Group):
    """A group of eager commands (``commands``) and lazy ones (``lazy``: name → Lazy)."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return None
        found = getattr(importlib.import_module(entry.module), entry.attribute)
        if not isinstance(found, click.Command):  # a wrong table entry: a bug, not user error
            raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
        self.add_command(found, cmd_name)
        return found

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as unknown:  # suggest lazy commands too
            raise click.exceptions.NoSuchCommand(
                unknown.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with the lazy commands' short help from the table."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or self._stand_in(name)
            if not command.hidden:
                rows.append((name, command))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def _stand_in(self, name: str) -> click.Command:
        """A command with the lazy one's name and help, so click shortens the help its way."""
        entry = self.lazy[name]
        return click.Command(name, help=entry.help, hidden=entry.hidden)
