"""From a Deployment spec to what its local server serves: the version it selects (pinned,
latest-passing or a stage; ``registry.select``), the previous version during a canary, and
the server config, with a prediction log sized for its Monitors (``retention``)."""

from __future__ import annotations

import math
from typing import Any

from mlform.clock import duration_seconds
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
        prediction_log=prediction_log(graph, deployment, chosen.record, str(folder / "logs")),
        metrics_files=tuple(
            str(monitor_dir(graph.root, m.metadata.name) / "metrics.prom")
            for m in graph.all(Monitor)
            if m.spec.deployment == deployment.metadata.name
        ),
    )


# --- the prediction log's retention -------------------------------------------------------
FILE_BYTES = PredictionLog().max_bytes  # 16 MiB a file
MIN_BACKUPS = PredictionLog().backups  # 10: what a Deployment without Monitors keeps
MAX_BACKUPS = 10_000  # 160 GiB: a bound on what a spec can make the server keep


def record_bytes(deployment: str, model: str, record: dict[str, Any]) -> int:
    """An upper estimate of one prediction record's size in the log, from the registered
    version's signature: numbers at their longest (24 characters), categories of 24
    characters, request ids of 64."""
    fixed = 160 + 64 + len(deployment) + len(model) + 16
    signature = record.get("signature")
    inputs = signature if isinstance(signature, list) else []
    size = fixed + sum(len(str(i.get("name", ""))) + 28 for i in inputs if isinstance(i, dict))
    classes = record.get("classes")
    if isinstance(classes, list) and classes:  # label and probabilities
        size += 32 + max(len(str(c)) for c in classes) + 24 * len(classes)
    else:
        outputs = record.get("outputs")
        size += 40 * max(1, len(outputs) if isinstance(outputs, list) else 1)
    return size


def retention(
    windows: list[float], design_rate: float, sample: float, row_bytes: int
) -> tuple[int, int]:
    """The log's (bytes a file, backups) that keep the longest of ``windows`` (seconds) at
    ``design_rate`` rows a second, ``sample`` of them logged: the backups alone hold it
    (the current file may have just been started)."""
    needed = max(windows, default=0.0) * design_rate * sample * row_bytes
    backups = max(MIN_BACKUPS, math.ceil(needed / FILE_BYTES))
    return FILE_BYTES, min(backups, MAX_BACKUPS)


def prediction_log(
    graph: ProjectGraph, deployment: Deployment, record: dict[str, Any], folder: str
) -> PredictionLog:
    """The Deployment's prediction log: its sampling, and a retention covering the longest
    ``window`` of the Monitors that read it at its ``design_rate``."""
    spec = deployment.spec.prediction_log
    name = deployment.metadata.name
    windows = [
        duration_seconds(m.spec.window) for m in graph.all(Monitor) if m.spec.deployment == name
    ]
    max_bytes, backups = retention(
        windows, spec.design_rate, spec.sample, record_bytes(name, deployment.spec.model, record)
    )
    return PredictionLog(
        folder=folder, sample_rate=spec.sample, max_bytes=max_bytes, backups=backups
    )


def _stable(previous: ServeConfig | None, model: str) -> ServedVersion | None:
    if previous is None:
        return None
    versions = [m for m in previous.models if m.model == model]
    return max(versions, key=lambda m: m.weight) if versions else None
