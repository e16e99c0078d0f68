"""Deployment: which model version serves where, with how much capacity and traffic."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlform.spec.base import (
    SEMVER_PATTERN,
    Document,
    Name,
    Quantity,
    Ref,
    RelPath,
    StrictModel,
)
from mlform.spec.project import DeploymentTarget

VersionSelector = Annotated[
    str,
    Field(
        pattern=rf"^(latest-passing|{SEMVER_PATTERN[1:-1]})$",
        description="'latest-passing' or a pinned version such as 1.2.0.",
    ),
]


class Replicas(StrictModel):
    min: Annotated[int, Field(ge=0)] = 1
    max: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _order(self) -> Replicas:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Autoscaling(StrictModel):
    metric: Literal["cpu", "memory", "concurrency", "rps"] = "concurrency"
    target: Annotated[int, Field(ge=1)]


class ResourceList(StrictModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(StrictModel):
    requests: ResourceList | None = None
    limits: ResourceList | None = None


class Canary(StrictModel):
    traffic_percent: Annotated[int, Field(ge=0, le=100)]


class Local(StrictModel):
    host: Literal["127.0.0.1", "localhost", "::1"] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    grpc_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None,
        description="Also serve the Open Inference Protocol's gRPC API on this port (none: HTTP only).",
    )

    @model_validator(mode="after")
    def _ports(self) -> Local:
        if self.grpc_port == self.port:
            raise ValueError(f"grpc_port {self.grpc_port} is the HTTP port too: choose another")
        return self


class PredictionLogSpec(StrictModel):
    """The local server's prediction log, which the Deployment's Monitors read."""

    sample: Annotated[float, Field(gt=0, le=1)] = Field(
        default=1.0,
        description="Share of requests logged (1.0: every one), decided by the request id, "
        "so the same request is logged or not in every process.",
    )
    design_rate: Annotated[float, Field(gt=0, le=1_000_000)] = Field(
        default=100.0,
        description="Rows per second (before sampling) the log's retention is sized for: "
        "compile keeps enough rotated files for the longest window of the Deployment's "
        "Monitors at this rate.",
    )


class DeploymentSpec(StrictModel):
    model: Ref
    version: VersionSelector | None = Field(
        default=None, description="Defaults to latest-passing unless `stage` is given."
    )
    stage: Name | None = Field(default=None, description="Serve the version assigned this stage.")
    target: DeploymentTarget | None = Field(default=None, description="Defaults to the Project's.")
    protocol: Literal["v1", "v2"] = "v2"
    replicas: Replicas = Replicas.model_construct()
    autoscaling: Autoscaling | None = None
    resources: Resources | None = None
    canary: Canary | None = None
    local: Local = Local.model_construct()
    prediction_log: PredictionLogSpec = PredictionLogSpec.model_construct()
    output_dir: RelPath | None = Field(
        default=None, description="kserve/triton/mlserver: where manifests are written."
    )
    namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")] | None = None
    environments: list[Name] = Field(
        default=[], description="Project environments this deployment exists in (empty: all)."
    )
    env: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = {}
    prevent_destroy: bool = False

    @model_validator(mode="after")
    def _selector(self) -> DeploymentSpec:
        if self.version is not None and self.stage is not None:
            raise ValueError("select a version either by 'version' or by 'stage', not both")
        return self


class Deployment(Document):
    """A model version served by a target."""

    kind: Literal["Deployment"]
    spec: DeploymentSpec
