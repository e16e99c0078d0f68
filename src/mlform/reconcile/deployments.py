"""The deployment part of an apply: local servers started, hot-swapped (a canary first when
declared) or stopped; cluster targets' manifests rendered for the selected version."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mlform.fsutil import write_all
from mlform.reconcile.changes import Change
from mlform.reconcile.context import Context
from mlform.reconcile.observe import checkout_id
from mlform.registry import Version, onnx_path
from mlform.spec import Deployment
from mlform.written import remember_rendered


def deploy(ctx: Context, change: Change) -> None:
    """Start or hot-swap a local server; render a cluster target's manifests."""
    from mlform.layout import local_dir, server_dir
    from mlform.serving import daemon
    from mlform.serving.config import ServeConfig
    from mlform.serving.deploy import server_config

    resource = ctx.resources[change.address]
    deployment = ctx.graph.get(Deployment, resource.name)
    current = (
        ctx.state.resources.get(f"model.{deployment.spec.model}", {})
        .get("outputs", {})
        .get("version")
    )
    if ctx.graph.target(deployment) == "local":
        folder = server_dir(ctx.root, resource.name)
        previous = (
            ServeConfig.load(folder / "config.json") if (folder / "config.json").exists() else None
        )
        config = server_config(ctx.graph, deployment, previous, current=current)
        ctx.crash.point()
        local_dir(ctx.root)
        running = daemon.apply(folder, config, ctx.crash.point)
        ctx.crash.point()
        models = [{"version": m.version, "weight": m.weight} for m in config.models]
        ctx.record(
            resource,
            {
                "target": "local",
                "url": running.url,
                "pid": running.pid,
                "models": models,
                "checkout": checkout_id(ctx.root),  # which checkout runs it
            },
        )
        ctx.progress(
            f"{change.address}: serving {', '.join(f'{m.version} ({m.weight}%)' for m in config.models)} at {running.url}"
        )
        return
    from mlform.registry import Registry
    from mlform.targets.serving import render_deployment

    releases = Registry(ctx.root).releases(deployment.spec.model)
    rendered, version = render_deployment(ctx.graph, deployment, releases, current)
    if ctx.graph.target(deployment) == "kserve" and ctx.sharing.dvc_remote is not None:
        _upload(ctx, releases.find(version), ctx.sharing.dvc_remote[0])
    files = {f.path: hashlib.sha256(f.data).hexdigest() for f in rendered}
    remember_rendered(ctx.root, ((f.path, f.data) for f in rendered))
    write_all((ctx.root / f.path, f.data) for f in rendered)
    before = (ctx.state.resources.get(change.address, {}).get("outputs") or {}).get("files") or {}
    _remove(
        ctx.root, [p for p in before if p not in {f.path for f in rendered}]
    )  # an older version's files
    ctx.record(
        resource, {"target": ctx.graph.target(deployment), "version": version, "files": files}
    )


def _upload(ctx: Context, version: Version, remote: str) -> None:
    """The version's ONNX file where the InferenceService's storageUri points (the DVC
    remote's models/<model>/<version>/model.onnx), before the manifest says so."""
    from mlform.engines.dvc import RemoteStore

    relative = f"models/{version.model}/{version.version}/model.onnx"
    store = RemoteStore(ctx.root, remote)
    try:
        if not store.exists(relative):
            store.put(onnx_path(ctx.root, version), relative)
            ctx.progress(f"deployment: uploaded {version.tag} to the remote's {relative}")
    finally:
        store.close()


def undeploy(ctx: Context, recorded: dict[str, Any]) -> None:
    from mlform.layout import server_dir
    from mlform.serving import daemon

    outputs = recorded.get("outputs") or {}
    if outputs.get("target") == "local":
        daemon.stop(server_dir(ctx.root, recorded["name"]))
    _remove(ctx.root, list(outputs.get("files") or {}))


def _remove(root: Path, paths: list[str]) -> None:
    """Delete rendered files, and the folders they leave empty."""
    for path in paths:
        target = root / path
        target.unlink(missing_ok=True)
        folder = target.parent
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
