"""`mlform state list|show|pull|push|migrate`: the reconciler's state, in whatever backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from mlform.cli.options import ENV, LOCK, PROJECT
from mlform.errors import UserError

if TYPE_CHECKING:
    from mlform.reconcile.backends import Backend
    from mlform.reconcile.state import State


@click.group()
def state() -> None:
    """The reconciler's state: list, show, pull, push, and migrate between backends."""


@state.command(name="list")
@PROJECT
def list_(path: Path) -> int:
    """Every environment with a state in the Project's backend."""
    from mlform.reconcile.state import DEFAULT_ENV, State, backend_at
    from mlform.workspace import find_root

    root = find_root(path)
    backend = backend_at(root, DEFAULT_ENV)
    rows = [("ENVIRONMENT", "SERIAL", "RESOURCES", "APPLIED", "WHERE")]
    for env in backend.environments():
        current = State.read(backend_at(root, env), env)
        rows.append(
            (
                env,
                str(current.serial),
                str(len(current.resources)),
                (current.applied_revision or "-")[:8],
                current.where,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


@state.command(name="show")
@PROJECT
@ENV
def show(path: Path, environment: str | None) -> int:
    """Each resource of the environment's state: its status, version, when it was applied."""
    current = _read(path, environment)
    click.echo(
        f"{current.where}: serial {current.serial}, lineage {current.lineage}, "
        f"applied {current.applied_revision or '-'}"
    )
    for address, item in current.resources.items():
        version = (item.get("outputs") or {}).get("version")
        click.echo(
            f"  {address:<40} {item.get('status', '?'):<8} {version or '':<8} "
            f"{item.get('applied_at', '')}".rstrip()
        )
    return 0


@state.command(name="pull")
@PROJECT
@ENV
def pull(path: Path, environment: str | None) -> int:
    """Print the environment's state document (JSON), as `terraform state pull` does."""
    click.echo(json.dumps(_read(path, environment).to_json(), indent=2))
    return 0


@state.command(name="push")
@click.argument("source", type=click.File("r"), default="-")
@PROJECT
@ENV
@LOCK
@click.option("--force", is_flag=True, help="Accept another lineage or an older serial.")
def push(
    source: TextIO, path: Path, environment: str | None, lock_timeout: float, force: bool
) -> int:
    """Replace the environment's state with a document (a file, or - for stdin), under the
    lock. Refused when it belongs to another lineage or is not newer, unless --force."""
    from mlform.reconcile.state import State, hold

    text = source.read()
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("resources"), dict):
            raise ValueError("not an mlform state")
    except ValueError as error:
        raise UserError(f"not a state document ({error})") from None
    env, backend = _backend(path, environment)
    with hold(backend, env, "state push", lock_timeout, click.echo) as held:
        current = State.read(backend, env)
        if current.exists and not force:
            if document.get("lineage") != current.lineage:
                raise UserError(
                    f"the document's lineage {document.get('lineage')} is not the state's "
                    f"({current.lineage})",
                    hint="Pass --force to replace it anyway.",
                )
            if int(document.get("serial", 0)) <= current.serial:
                raise UserError(
                    f"the document's serial {document.get('serial')} is not newer than the "
                    f"state's ({current.serial})",
                    hint="Pass --force to replace it anyway.",
                )
        replaced = State.read(backend, env)
        replaced.held = held
        replaced.lineage = str(document.get("lineage") or replaced.lineage)
        replaced.serial = max(int(document.get("serial", 0)), current.serial)
        replaced.applied_revision = document.get("applied_revision")
        replaced.attempted_revision = document.get("attempted_revision")
        replaced.last_failure = document.get("last_failure")
        replaced.resources = document["resources"]
        replaced.save()
    click.echo(f"Pushed serial {replaced.serial} to {replaced.where}.")
    return 0


@state.command(name="migrate")
@click.option(
    "--from",
    "source",
    type=click.Choice(["local", "git", "postgres"]),
    required=True,
    help="The backend the states are in now (the Project names the new one).",
)
@PROJECT
@LOCK
@click.option("--force", is_flag=True, help="Replace states the new backend has already.")
def migrate(source: str, path: Path, lock_timeout: float, force: bool) -> int:
    """Copy every environment's state from another backend into the Project's, as
    `terraform init -migrate-state` does; each under both backends' locks."""
    from mlform.reconcile.backends import configured, open_backend
    from mlform.reconcile.state import DEFAULT_ENV, State, hold
    from mlform.workspace import find_root

    root = find_root(path)
    target_config = configured(root, DEFAULT_ENV)
    old = open_backend(root, target_config.model_copy(update={"backend": source}))
    moved = 0
    for env in old.environments():
        new = open_backend(root, configured(root, env))
        if new.name == old.name:
            raise UserError(f"the Project's backend is {source} already: nothing to migrate")
        with (
            hold(old, env, "state migrate", lock_timeout, click.echo),
            hold(new, env, "state migrate", lock_timeout, click.echo) as held,
        ):
            state_ = State.read(old, env)
            there = State.read(new, env)
            if there.exists and not force and there.lineage != state_.lineage:
                raise UserError(
                    f"{there.where} holds another state (lineage {there.lineage})",
                    hint="Pass --force to replace it.",
                )
            there.held = held
            there.lineage, there.serial = state_.lineage, max(state_.serial, there.serial)
            there.applied_revision = state_.applied_revision
            there.attempted_revision = state_.attempted_revision
            there.last_failure = state_.last_failure
            there.resources = state_.resources
            there.save()
            click.echo(f"{env}: serial {there.serial} → {there.where}")
            moved += 1
    click.echo(f"Migrated {moved} environment(s) from {source}.")
    return 0


def _backend(path: Path, environment: str | None) -> tuple[str, Backend]:
    from mlform.reconcile.state import DEFAULT_ENV, backend_at
    from mlform.workspace import find_root

    env = environment or DEFAULT_ENV
    return env, backend_at(find_root(path), env)


def _read(path: Path, environment: str | None) -> State:
    from mlform.reconcile.state import State

    env, backend = _backend(path, environment)
    current = State.read(backend, env)
    if not current.exists:
        raise UserError(f"there is no state of '{env}' in {current.where}")
    return current
