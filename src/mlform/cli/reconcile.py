"""`mlform plan`, `apply`, `show`, `destroy`, `status`, `force-unlock`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mlform.cli.options import ENV, EXCLUDE, LOCK, PROJECT, SELECTOR, SERVE, TARGET
from mlform.errors import UserError


def _progress(message: str) -> None:
    click.echo(message)


def _emit_plan(plan: Any, output: str) -> None:
    from mlform.reconcile import report

    if output == "json":
        click.echo(json.dumps(plan.to_json(), indent=2))
    elif output == "markdown":
        click.echo(report.markdown(plan))
    else:
        click.echo(report.text(plan, click.style if sys.stdout.isatty() else None))


@click.command(name="plan")
@PROJECT
@ENV
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan for `mlform apply FILE`.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 2 with changes, 1 on error."
)
@click.option(
    "--all-envs",
    is_flag=True,
    help="Plan the default environment and every one the Project declares (a PR's plan).",
)
@TARGET
@EXCLUDE
@SELECTOR
def plan_(
    path: Path,
    environment: str | None,
    output: str,
    out_file: Path | None,
    detailed_exitcode: bool,
    all_envs: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    selector: str | None,
) -> int:
    """What apply would do: specs vs recorded state vs what is actually there."""
    from mlform import api
    from mlform.fsutil import PRIVATE, write_atomic

    if all_envs:
        if environment or out_file:
            raise UserError("--all-envs plans every environment: give neither --env nor --out")
        if targets or excludes or selector is not None:
            raise UserError(
                "--all-envs plans every environment whole: --target, --exclude and "
                "--selector plan a part of one (give --env instead)"
            )
        return _plan_every_environment(path, output, detailed_exitcode)
    plan = api.plan(path, environment, targets=targets, excludes=excludes, selector=selector)
    _emit_plan(plan, output)
    if out_file is not None:
        write_atomic(out_file, (json.dumps(plan.to_json(), indent=2) + "\n").encode(), PRIVATE)
        click.echo(
            f"\nSaved the plan to {out_file}; apply exactly it with: mlform apply {out_file}",
            err=True,
        )
    if plan.errors:
        return 1
    return 2 if detailed_exitcode and plan.has_changes else 0


def _plan_every_environment(path: Path, output: str, detailed_exitcode: bool) -> int:
    from mlform import api

    names = [None, *api.load(path).project.spec.environments]
    plans = [api.plan(path, name) for name in names]
    if output == "json":
        click.echo(json.dumps([p.to_json() for p in plans], indent=2))
    else:
        for index, plan in enumerate(plans):
            if index:
                click.echo("")
            if output == "text":
                click.echo(click.style(f"Environment {plan.environment}:", bold=True))
            _emit_plan(plan, output)
    if any(p.errors for p in plans):
        return 1
    return 2 if detailed_exitcode and any(p.has_changes for p in plans) else 0


def _confirm(plan: Any) -> bool:
    from mlform.reconcile import report

    click.echo(report.text(plan, click.style if sys.stdout.isatty() else None))
    return click.confirm("\nDo you want to perform these actions?", default=False)


def _run_apply(
    path: Path,
    environment: str | None,
    plan_file: Path | None,
    auto_approve: bool,
    lock_timeout: float,
    destroy: bool = False,
    serve: bool = True,
    targeting: dict[str, Any] | None = None,
) -> int:
    from mlform import api
    from mlform.reconcile import report

    saved = api.read_plan(plan_file) if plan_file else None
    if saved is None and not auto_approve and not sys.stdin.isatty():
        raise UserError(
            "apply needs confirmation, but there is no terminal to ask on",
            hint="Pass --auto-approve, or apply a saved plan: mlform plan --out plan.json && mlform apply plan.json",
        )

    def show_or_ask(plan: Any) -> bool:
        if saved is None and not auto_approve:
            return _confirm(plan)
        click.echo(report.text(plan, click.style if sys.stdout.isatty() else None) + "\n")
        return True

    run = api.destroy if destroy else api.apply
    extra = {} if destroy else {"saved": saved, **(targeting or {})}
    done = run(
        path,
        environment,
        lock_timeout=lock_timeout,
        progress=_progress,
        confirm=show_or_ask,
        serve=serve,
        **extra,
    )
    plan, outcome = done.plan, done.outcome
    add, change, destroyed = plan.counts()
    if not plan.has_changes:
        click.echo("No changes. Nothing to apply.")
        _incomplete(plan)
        return 0
    if outcome.ok:
        click.echo(
            click.style(
                f"Apply complete! Resources: {add} added, {change} changed, {destroyed} destroyed.",
                fg="green",
                bold=True,
            )
        )
        _incomplete(plan)
        return 0
    click.echo(
        click.style(
            f"Apply failed: {len(outcome.failed)} failed, {len(outcome.skipped)} not applied because of them, {len(outcome.applied)} applied.",
            fg="red",
            bold=True,
        )
    )
    for address, message in outcome.failed.items():
        click.echo(f"  ✗ {address}: {message}")
    for address, message in outcome.skipped.items():
        click.echo(f"  - {address}: {message}")
    click.echo("What was serving before keeps serving.")
    _incomplete(plan)
    return 1


def _incomplete(plan: Any) -> None:
    """After a targeted apply that left changes out, as Terraform warns after -target."""
    targeting = plan.targeting
    if targeting is None or targeting.complete:
        return
    count = len(targeting.left_out)
    click.echo(
        "\n"
        + click.style("Warning: ", fg="yellow", bold=True)
        + f"Applied changes may be incomplete: {count} change{'s' if count != 1 else ''} "
        f"outside the selection {'were' if count != 1 else 'was'} not applied, and the "
        "environment's applied revision did not advance. Run `mlform plan` to see what is "
        "still pending."
    )


@click.command(name="apply")
@click.argument(
    "plan_file", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@PROJECT
@ENV
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@LOCK
@SERVE
@TARGET
@EXCLUDE
@SELECTOR
def apply_(
    plan_file: Path | None,
    path: Path,
    environment: str | None,
    auto_approve: bool,
    lock_timeout: float,
    no_serve: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    selector: str | None,
) -> int:
    """Make the world match the specs (or exactly a saved plan)."""
    targeting = {"targets": targets, "excludes": excludes, "selector": selector}
    return _run_apply(
        path,
        environment,
        plan_file,
        auto_approve,
        lock_timeout,
        serve=not no_serve,
        targeting=targeting,
    )


@click.command(name="destroy")
@PROJECT
@ENV
@click.option("--auto-approve", is_flag=True)
@LOCK
@SERVE
def destroy(
    path: Path, environment: str | None, auto_approve: bool, lock_timeout: float, no_serve: bool
) -> int:
    """Tear an environment down: stop servers, remove rendered deployments, forget its state."""
    return _run_apply(
        path, environment, None, auto_approve, lock_timeout, destroy=True, serve=not no_serve
    )


@click.command(name="show")
@click.argument("plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def show(plan_file: Path, as_json: bool) -> int:
    """Print a saved plan."""
    from mlform import api

    _emit_plan(api.read_plan(plan_file), "json" if as_json else "text")
    return 0


@click.command(name="status")
@PROJECT
@ENV
@click.option("--json", "as_json", is_flag=True)
def status(path: Path, environment: str | None, as_json: bool) -> int:
    """Sync and health of every resource, like Argo CD; applied and attempted revisions."""
    from mlform import api

    info = api.status(path, environment).to_json()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return 0
    click.echo(f"Environment {info['environment']}: {info['sync']}, {info['health']}")
    click.echo(f"  applied revision:   {info['applied_revision'] or '-'}")
    click.echo(f"  attempted revision: {info['attempted_revision'] or '-'}")
    if info["last_failure"]:
        click.echo(f"  last failure:       {'; '.join(info['last_failure']['errors'])}")
    width = max((len(r["address"]) for r in info["resources"]), default=10)
    for row in info["resources"]:
        extra = row["detail"] or row["reason"]
        click.echo(
            f"  {row['address']:<{width}}  {row['sync']:<9}  {row['health']:<11}  {extra}".rstrip()
        )
    return 0


@click.command(name="force-unlock")
@click.argument("lock_id")
@PROJECT
@ENV
def force_unlock(lock_id: str, path: Path, environment: str | None) -> int:
    """Remove a stuck lock (only when no operation holds it)."""
    from mlform.reconcile.state import DEFAULT_ENV, backend_at
    from mlform.workspace import find_root

    env = environment or DEFAULT_ENV
    holder = backend_at(find_root(path), env).force_unlock(env, lock_id)
    click.echo(
        f"Removed the lock {lock_id} of {holder.get('Who')} ({holder.get('Operation')}, since {holder.get('Created')})."
    )
    return 0
