"""From a Deployment spec to what a local server serves: the version it selects (pinned,
latest-passing or a stage), the previous version during a canary, and the server config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlform.errors import UserError
from mlform.monitoring import monitor_dir
from mlform.project import ProjectGraph
from mlform.registry import Registry, Version
from mlform.serving.config import PredictionLog, ServeConfig, ServedVersion
from mlform.spec import Deployment, Monitor


@dataclass(frozen=True)
class Selection:
    version: Version
    reason: str


def passed_review(version: Version) -> bool:
    review = version.record.get("review")
    return isinstance(review, dict) and bool(review) and all(v == "pass" for v in review.values())


def select(registry: Registry, deployment: Deployment, current: str | None = None) -> Selection:
    """The version a Deployment asks for, or a UserError saying why there is none.

    ``current``: the version the pipeline of the applied commit produced. ``latest-passing``
    then means that version, so reverting a commit rolls the deployment back to it.
    """
    spec, model = deployment.spec, deployment.spec.model
    if spec.stage:
        chosen = registry.stage_version(model, spec.stage)
        if chosen is None:
            raise UserError(
                f"no version of Model '{model}' is in stage '{spec.stage}' (`mlform models promote {model}@vX.Y.Z {spec.stage}`)"
            )
        return Selection(chosen, f"stage {spec.stage}")
    if spec.version and spec.version != "latest-passing":
        return Selection(registry.find(model, spec.version), "pinned")
    passing = [v for v in registry.versions(model) if passed_review(v)]
    if current is not None and current in [v.version for v in passing]:
        return Selection(registry.find(model, current), "latest-passing (this commit's model)")
    if not passing:
        raise UserError(
            f"Model '{model}' has no registered version that passed review (`mlform models register {model}`)"
        )
    return Selection(passing[-1], "latest-passing")


def state_dir(root: Path, deployment: str) -> Path:
    return root / ".mlform" / "serve" / deployment


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
    chosen = select(registry, deployment, current).version
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
    folder = state_dir(graph.root, deployment.metadata.name)
    return ServeConfig(
        deployment=deployment.metadata.name,
        host=deployment.spec.local.host,
        port=deployment.spec.local.port,
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
