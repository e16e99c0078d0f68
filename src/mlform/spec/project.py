"""Project: the root of a spec repository (`mlform.yaml`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlform.spec.base import Document, Name, RelPath, StrictModel

DeploymentTarget = Literal["local", "kserve", "triton", "mlserver"]


class Remote(StrictModel):
    """The DVC remote that stores data and model artifacts (also KServe's storageUri root)."""

    name: Name = "storage"
    url: Annotated[str, Field(min_length=1, description="s3://…, gs://…, azure://…, a path…")]


class Environment(StrictModel):
    overlays: list[RelPath] = Field(
        default=[], description="Files whose documents patch the base specs in this environment."
    )
    prevent_destroy: bool = Field(
        default=False, description="Refuse plans that would destroy resources in this environment."
    )
    description: str = ""


class Defaults(StrictModel):
    seed: int = 42
    onnx_opset: Annotated[int, Field(ge=9, le=22)] = 17
    target: DeploymentTarget = "local"


class Monitoring(StrictModel):
    rules_dir: RelPath = "monitoring/rules"
    prometheus_url: str | None = None


class ProjectSpec(StrictModel):
    specs: list[RelPath] = Field(
        default=["."], description="Folders or files, relative to the root, that hold the specs."
    )
    artifacts: RelPath = Field(default="artifacts", description="Where pipeline stages write.")
    deploy_dir: RelPath = Field(
        default="deploy", description="Where kserve/triton/mlserver deployments are rendered."
    )
    remote: Remote | None = None
    environments: dict[Name, Environment] = {}
    defaults: Defaults = Defaults()
    monitoring: Monitoring = Monitoring()


class Project(Document):
    """The project: where specs live, the DVC remote, environments and defaults."""

    kind: Literal["Project"]
    spec: ProjectSpec = ProjectSpec()
