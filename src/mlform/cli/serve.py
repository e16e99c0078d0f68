"""`mlform serve` (foreground) and `mlform server start|stop|status` (background)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlform.cli.options import ENV, LOCK, PROJECT
from mlform.errors import UserError

if TYPE_CHECKING:
    from mlform.project import ProjectGraph
    from mlform.serving.config import ServeConfig
    from mlform.spec import Deployment


def _deployment(path: Path, name: str | None) -> tuple[ProjectGraph, Deployment]:
    from mlform import api
    from mlform.spec import Deployment

    graph = api.load(path)
    local = [d for d in graph.all(Deployment) if graph.target(d) == "local"]
    names = [d.metadata.name for d in local]
    if name is None:
        if len(local) != 1:
            raise UserError(
                f"say which Deployment to serve: {', '.join(names) or 'none has target local'}"
            )
        return graph, local[0]
    deployment = graph.named(Deployment, name)
    if graph.target(deployment) != "local":
        raise UserError(
            f"Deployment '{name}' targets {graph.target(deployment)}; `mlform compile` renders its manifests"
        )
    return graph, deployment


def _server_folder(path: Path, name: str) -> tuple[Path, str | None]:
    """The folder of Deployment ``name``'s local server, and, for a cluster Deployment,
    what it is instead. A server mlform started is found from its record, whatever the
    specs say now (so stop works on invalid specs and on a Deployment since removed)."""
    from mlform import api
    from mlform.errors import SpecInvalid
    from mlform.layout import server_dir
    from mlform.schema_errors import suggestion
    from mlform.spec import Deployment
    from mlform.spec.base import NAME_PATTERN
    from mlform.targets.serving import output_dir
    from mlform.workspace import find_root

    root = find_root(path)
    if not re.fullmatch(NAME_PATTERN, name):  # never a path out of .mlform/serve/
        raise UserError(f"'{name}' is not a Deployment name (lower-case letters, digits, '-')")
    folder = server_dir(root, name)
    if (folder / "server.json").is_file():
        return folder, None
    try:
        graph = api.load(root)
        graphs = [graph, *(api.load(root, env) for env in graph.project.spec.environments)]
    except SpecInvalid:
        return folder, None  # nothing recorded to act on, and no names to check against
    for each in graphs:
        found = [d for d in each.all(Deployment) if d.metadata.name == name]
        if found:
            target = each.target(found[0])
            if target == "local":
                return folder, None
            manifests = root / output_dir(each, found[0])
            what = {
                "kserve": f"the rendered manifest at {manifests / 'inferenceservice.yaml'}",
                "triton": f"the rendered model repository at {manifests}",
                "mlserver": f"the rendered model settings at {manifests / 'model-settings.json'}",
            }[target]
            return folder, f"'{name}' is a {target} deployment; mlform does not run it — see {what}"
    names = sorted({d.metadata.name for each in graphs for d in each.all(Deployment)})
    recorded = sorted(p.name for p in folder.parent.glob("*") if p.is_dir())
    known = names + [n for n in recorded if n not in names]
    raise UserError(
        f"no Deployment '{name}'{suggestion(name, known)}",
        hint=f"Deployments: {', '.join(names) or 'none'}",
    )


TOKEN_FILE = click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The server's token, for feedback and /mlform/status (default: $MLFORM_SERVER_TOKEN).",
)


def _config(path: Path, name: str | None) -> tuple[Path, ServeConfig]:
    from mlform.layout import local_dir, server_dir
    from mlform.serving.config import ServeConfig
    from mlform.serving.deploy import server_config

    graph, deployment = _deployment(path, name)
    local_dir(graph.root)  # owner-only, before the server writes its logs in it
    folder = server_dir(graph.root, deployment.metadata.name)
    previous = (
        ServeConfig.load(folder / "config.json") if (folder / "config.json").exists() else None
    )
    return folder, server_config(graph, deployment, previous)


@click.command()
@click.argument("deployment", required=False)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Serve this server config (what `mlform server start` runs).",
)
@TOKEN_FILE
@PROJECT
def serve(
    deployment: str | None, config_file: Path | None, token_file: Path | None, path: Path
) -> int:
    """Serve a local Deployment in the foreground (Ctrl-C or SIGTERM stops it gracefully)."""
    from mlform.fsutil import write_atomic
    from mlform.serving.run import serve as run

    if config_file is None:
        folder, config = _config(path, deployment)
        folder.mkdir(parents=True, exist_ok=True)
        config_file = folder / "config.json"
        write_atomic(config_file, config.to_json().encode())
        click.echo(
            f"Serving {', '.join(f'{m.model}@{m.version}' for m in config.models)} on http://{config.host}:{config.port}",
            err=True,
        )
    return run(config_file, token_file)


@click.group()
def server() -> None:
    """Local servers in the background (what `apply` uses for the local target)."""


@server.command(name="start")
@click.argument("deployment", required=False)
@TOKEN_FILE
@PROJECT
def start(deployment: str | None, token_file: Path | None, path: Path) -> int:
    """Start (or hot-swap) the Deployment's server and wait until it is ready."""
    from mlform.serving import daemon

    folder, config = _config(path, deployment)
    running = daemon.apply(folder, config, token_file=token_file)
    versions = ", ".join(f"{m.model}@{m.version} ({m.weight}%)" for m in config.models)
    click.echo(
        f"Serving {versions} at {running.url} (pid {running.pid}); log: {folder / 'server.log'}"
    )
    return 0


@server.command(name="promote")
@click.argument("deployment")
@ENV
@LOCK
@PROJECT
def promote(deployment: str, environment: str | None, lock_timeout: float, path: Path) -> int:
    """End a canary: the new version takes all of the Deployment's traffic."""
    from mlform import api
    from mlform.reconcile.run import promote_canary

    graph = api.load(path, environment)
    click.echo(promote_canary(graph, deployment, environment, lock_timeout))
    return 0


@server.command(name="stop")
@click.argument("deployment")
@PROJECT
def stop(deployment: str, path: Path) -> int:
    """Stop the Deployment's server; requests in flight finish first (works on invalid specs too)."""
    from mlform.serving import daemon

    folder, elsewhere = _server_folder(path, deployment)
    if elsewhere:
        raise UserError(elsewhere)
    stopped = daemon.stop(folder)
    click.echo(
        f"Stopped the server of '{deployment}'."
        if stopped
        else f"The server of '{deployment}' is not running."
    )
    return 0


@server.command(name="status")
@click.argument("deployment")
@click.option("--json", "as_json", is_flag=True)
@TOKEN_FILE
@PROJECT
def status_(deployment: str, as_json: bool, token_file: Path | None, path: Path) -> int:
    """Whether the Deployment's server runs, and what it serves."""
    from mlform.serving import auth, daemon

    folder, elsewhere = _server_folder(path, deployment)
    if elsewhere:
        shown = {"deployment": deployment, "local": False, "message": elsewhere}
        click.echo(json.dumps(shown, indent=2) if as_json else elsewhere)
        return 0
    running = daemon.status(folder, daemon.token_for(folder, token_file))
    if as_json:
        click.echo(
            json.dumps(
                None
                if running is None
                else {
                    "pid": running.pid,
                    "url": running.url,
                    **({"locked": True} if running.locked else {}),
                    **running.status,
                },
                indent=2,
            )
        )
    elif running is None:
        click.echo(f"'{deployment}': not running")
    elif running.locked:
        click.echo(
            f"'{deployment}': running at {running.url} (pid {running.pid}); what it serves needs its token: set {auth.TOKEN_ENV} or pass --token-file"
        )
    else:
        models = ", ".join(
            f"{m['model']}@{m['version']} ({m['weight']}%)"
            for m in running.status.get("models", [])
        )
        click.echo(
            f"'{deployment}': serving {models} at {running.url} (pid {running.pid}, generation {running.status.get('generation')})"
        )
    return 0
