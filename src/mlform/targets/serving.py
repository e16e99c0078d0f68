"""Deployments for clusters: a KServe InferenceService, a Triton model repository, or MLServer
model settings, rendered for the version each Deployment selects from the registry.

What the registry holds is passed in (``Releases``, read by the caller), so rendering runs
no git. A Deployment whose selector matches no registered version yet renders nothing;
compile reports it. Everything goes under the Deployment's ``output_dir`` (default
``<Project.deploy_dir>/<deployment>/``), ready for Argo CD or Flux to sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlform.errors import UserError
from mlform.layout import store_dir
from mlform.project import ProjectGraph
from mlform.registry import Releases, Version, onnx_path, select
from mlform.render import render
from mlform.spec import Deployment
from mlform.targets import RenderedFile

TRITON_TYPES = {
    "FP64": "TYPE_FP64",
    "FP32": "TYPE_FP32",
    "BYTES": "TYPE_STRING",
    "INT64": "TYPE_INT64",
    "INT32": "TYPE_INT32",
    "BOOL": "TYPE_BOOL",
}


@dataclass(frozen=True)
class Rendered:
    files: list[RenderedFile]
    notes: list[str]  # deployments not rendered, and why


def output_dir(graph: ProjectGraph, deployment: Deployment) -> PurePosixPath:
    if deployment.spec.output_dir:
        return PurePosixPath(deployment.spec.output_dir)
    return PurePosixPath(graph.project.spec.deploy_dir) / deployment.metadata.name


def cluster_deployments(graph: ProjectGraph) -> list[Deployment]:
    return [d for d in graph.all(Deployment) if graph.target(d) != "local"]


def render_deployments(graph: ProjectGraph, releases: Mapping[str, Releases]) -> Rendered:
    """Every cluster Deployment's files; ``releases`` holds each served model's versions."""
    files: list[RenderedFile] = []
    notes: list[str] = []
    for deployment in cluster_deployments(graph):
        target = graph.target(deployment)
        model = deployment.spec.model
        try:
            files.extend(
                render_deployment(graph, deployment, releases.get(model, Releases(model)))[0]
            )
        except UserError as why:
            notes.append(
                f"Deployment '{deployment.metadata.name}' ({target}) is not rendered: {why.message}"
            )
    return Rendered(files, notes)


def render_deployment(
    graph: ProjectGraph, deployment: Deployment, releases: Releases, current: str | None = None
) -> tuple[list[RenderedFile], str]:
    """The files of one cluster Deployment, and the version they deploy."""
    version = select(releases, deployment.spec, current).version
    folder = output_dir(graph, deployment)
    target = graph.target(deployment)
    if target == "kserve":
        return [
            RenderedFile(str(folder / "inferenceservice.yaml"), kserve(graph, deployment, version))
        ], version.version
    if target == "triton":
        onnx = onnx_path(graph.root, version).read_bytes()
        number = releases.number(version)
        return triton(number, deployment, version, folder, onnx), version.version
    return mlserver(graph.root, version, folder), version.version


def _labels(deployment: Deployment, version: Version) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "mlform",
        "app.kubernetes.io/name": deployment.metadata.name,
        "mlform.dev/model": version.model,
        "mlform.dev/version": version.version,
    }


def kserve(graph: ProjectGraph, deployment: Deployment, version: Version) -> str:
    spec = deployment.spec
    remote = graph.project.spec.remote
    if remote is None:  # validation reports E217 first; this guards the API
        raise UserError(
            f"Deployment '{deployment.metadata.name}' targets kserve, which needs the Project's spec.remote"
        )
    model: dict[str, Any] = {
        "modelFormat": {"name": "onnx"},
        "protocolVersion": "v2",
        "storageUri": f"{remote.url.rstrip('/')}/models/{version.model}/{version.version}",
    }
    if spec.resources:
        model["resources"] = spec.resources.model_dump(mode="json", exclude_none=True)
    if spec.env:
        model["env"] = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    predictor: dict[str, Any] = {"minReplicas": spec.replicas.min, "maxReplicas": spec.replicas.max}
    if spec.autoscaling:
        predictor["scaleMetric"] = spec.autoscaling.metric
        predictor["scaleTarget"] = spec.autoscaling.target
    if spec.canary:
        predictor["canaryTrafficPercent"] = spec.canary.traffic_percent
    predictor["model"] = model
    metadata: dict[str, Any] = {
        "name": deployment.metadata.name,
        "labels": _labels(deployment, version),
        "annotations": {
            "mlform.dev/sha256": str(version.record.get("sha256", "")),
            "mlform.dev/commit": version.commit,
        },
    }
    if spec.namespace:
        metadata["namespace"] = spec.namespace
    manifest = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }
    return render("deploy/inferenceservice.yaml.j2", manifest=manifest, sources=[version.tag])


def triton(
    number: int, deployment: Deployment, version: Version, folder: PurePosixPath, onnx: bytes
) -> list[RenderedFile]:
    """``number``: Triton versions are integers, the version's position in the registry."""
    signature = version.record.get("signature") or []
    outputs = version.record.get("outputs") or []
    classes = version.record.get("classes") or []
    task = version.record.get("task")
    output_tensors = []
    for output in outputs:
        name = output["name"]
        if task == "classification" and name == "probabilities":
            output_tensors.append(
                {"name": name, "type": "TYPE_FP32", "dims": [len(classes) or -1], "reshape": None}
            )
        elif task == "classification" and name == "label":
            label_type = "TYPE_STRING" if any(isinstance(c, str) for c in classes) else "TYPE_INT64"
            output_tensors.append({"name": name, "type": label_type, "dims": [1], "reshape": []})
        else:
            output_tensors.append({"name": name, "type": "TYPE_FP32", "dims": [1], "reshape": None})
    context = {
        "name": version.model,
        "version": number,
        "max_batch_size": 256,
        "inputs": [
            {"name": i["name"], "type": TRITON_TYPES[i["datatype"]], "dims": [1]} for i in signature
        ],
        "outputs": output_tensors,
        "instances": max(deployment.spec.replicas.min, 1),
        "tag": version.tag,
    }
    model_dir = folder / version.model
    return [
        RenderedFile(str(model_dir / "config.pbtxt"), render("deploy/config.pbtxt.j2", **context)),
        RenderedFile(str(model_dir / str(number) / "model.onnx"), onnx),
    ]


def mlserver(root: Path, version: Version, folder: PurePosixPath) -> list[RenderedFile]:
    """MLServer's scikit-learn runtime (mlserver-sklearn) and the version's trained pipeline,
    which holds stock scikit-learn and NumPy objects only (see runtime.transformers), so a
    stock MLServer image loads it without mlform. Its bytes are shipped only when they are
    the ones registered: MLServer unpickles them, and a pickle runs code as it loads."""
    import hashlib

    pipeline = store_dir(root, version.model, version.version) / "pipeline.joblib"
    if not pipeline.is_file():
        raise UserError(
            f"MLServer serves the scikit-learn pipeline, which is not in the local store of {version.tag}"
        )
    payload = pipeline.read_bytes()
    recorded = version.record.get("pipeline_sha256")
    if not isinstance(recorded, str):
        raise UserError(
            f"{version.tag} records no sha256 of its pipeline (registered by an older mlform), "
            "so it is not shipped to MLServer; register a new version"
        )
    actual = hashlib.sha256(payload).hexdigest()
    if actual != recorded:
        raise UserError(
            f"{pipeline} has sha256 {actual}, not {recorded} as registered for "
            f"{version.tag}; it is not shipped to MLServer"
        )
    settings = {
        "name": version.model,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": version.version},
    }
    return [
        RenderedFile(
            str(folder / "model-settings.json"),
            render("deploy/model-settings.json.j2", settings=settings),
        ),
        RenderedFile(str(folder / "model.joblib"), payload),
    ]
