"""From a Deployment spec to what its local server serves: the version it selects (pinned,
latest-passing or a stage; ``registry.select``), the previous version during a canary, and
the server config."""

from __future__ import annotations

from mlform.layout import monitor_dir, server_dir
from mlform.project import ProjectGraph
from mlform.registry import Registry, Version, select
from mlform.serving.config import PredictionLog, ServeConfig, ServedVersion
from mlform.spec import Deployment, Monitor


def served_version(registry: Registry, version: Version, weight: int) -> ServedVersion:
    path = registry.onnx_path(version)
    return ServedVersion(
        version.model, version.version, str(path), str(version.record.get("sha256", "")), weight
    )


def server_config(
    graph: ProjectGraph,
    deployment: Deployment,
    previous: ServeConfig | None = None,
    current: str | None = None,
) -> ServeConfig:
    """What the Deployment's local server should serve now.

    With a canary, a new version gets ``traffic_percent`` of the traffic and the version
    served before keeps the rest, until the canary becomes the only version (promotion).
    """
    registry = Registry(graph.root)
    chosen = select(registry.releases(deployment.spec.model), deployment.spec, current).version
    stable = _stable(previous, deployment.spec.model)
    canary = deployment.spec.canary
    models: tuple[ServedVersion, ...]
    if (
        canary
        and stable is not None
        and stable.version != chosen.version
        and 0 < canary.traffic_percent < 100
    ):
        models = (
            ServedVersion(
                stable.model,
                stable.version,
                stable.path,
                stable.sha256,
                100 - canary.traffic_percent,
            ),
            served_version(registry, chosen, canary.traffic_percent),
        )
    else:
        models = (served_version(registry, chosen, 100),)
    folder = server_dir(graph.root, deployment.metadata.name)
    return ServeConfig(
        deployment=deployment.metadata.name,
        host=deployment.spec.local.host,
        port=deployment.spec.local.port,
        grpc_port=deployment.spec.local.grpc_port,
        models=models,
        prediction_log=PredictionLog(folder=str(folder / "logs")),
        metrics_files=tuple(
            str(monitor_dir(graph.root, m.metadata.name) / "metrics.prom")
            for m in graph.all(Monitor)
            if m.spec.deployment == deployment.metadata.name
        ),
    )


def _stable(previous: ServeConfig | None, model: str) -> ServedVersion | None:
    if previous is None:
        return None
    versions = [m for m in previous.models if m.model == model]
    return max(versions, key=lambda m: m.weight) if versions else None
