"""Project: the root of a spec repository (`mlform.yaml`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlform.spec.base import (
    HTTP_URL_PATTERN,
    MLFORM_ENV_PATTERN,
    Document,
    Duration,
    Name,
    RelPath,
    StrictModel,
)

DeploymentTarget = Literal["local", "kserve", "triton", "mlserver"]


class Remote(StrictModel):
    """The DVC remote that stores data and model artifacts (also KServe's storageUri root)."""

    name: Name = "storage"
    url: Annotated[str, Field(min_length=1, description="s3://…, gs://…, azure://…, a path…")]
    sync: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Whether apply pulls what stages need from the remote and pushes their "
        "outputs and DVC's run-cache: auto does with a shared state backend (git, postgres).",
    )


# A spec names the variable, the operator sets it: only MLFORM_* variables, so a pull
# request cannot point the state backend at another secret of the runner (AWS_SECRET_…).
EnvVarName = Annotated[str, Field(pattern=MLFORM_ENV_PATTERN, max_length=128)]
GitRemoteName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128)]
SqlName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=63)]


class GitState(StrictModel):
    remote: GitRemoteName = Field(
        default="origin", description="The git remote whose refs hold the state and the lock."
    )
    lease: Duration = Field(
        default="2m",
        description="How long a lock lives unless its holder renews it (every third of it): "
        "a killed runner's lock is free after this long, on every machine.",
    )


class PostgresState(StrictModel):
    dsn_env: EnvVarName = Field(
        default="MLFORM_STATE_DSN",
        description="The environment variable holding the connection string (never the "
        "string itself: specs and state hold no secrets).",
    )
    table: SqlName = Field(default="mlform_state", description="The table of states.")


class StateBackend(StrictModel):
    """Where the reconciler's state and lock live: ``local`` (a file of this checkout),
    ``git`` (refs of the team's repository, written by compare-and-swap push) or
    ``postgres`` (a table, locked by a session advisory lock); ``auto``: git in a
    repository that has the git remote (``git.remote``), local in one that has none."""

    backend: Literal["auto", "local", "git", "postgres"] = "auto"
    git: GitState = GitState.model_construct()
    postgres: PostgresState = PostgresState.model_construct()


class Environment(StrictModel):
    overlays: list[RelPath] = Field(
        default=[], description="Files whose documents patch the base specs in this environment."
    )
    prevent_destroy: bool = Field(
        default=False, description="Refuse plans that would destroy resources in this environment."
    )
    state: StateBackend | None = Field(
        default=None, description="This environment's state backend (default: the Project's)."
    )
    description: str = ""


class Defaults(StrictModel):
    seed: int = 42
    onnx_opset: Annotated[int, Field(ge=9, le=22)] = 17
    target: DeploymentTarget = "local"


class Monitoring(StrictModel):
    rules_dir: RelPath = "monitoring/rules"
    prometheus_url: (
        Annotated[
            str,
            Field(
                pattern=HTTP_URL_PATTERN,
                description="http(s) only; the reconciler host's operator may pin or limit it "
                "(MLFORM_PROMETHEUS_URL, MLFORM_PROMETHEUS_HOSTS).",
            ),
        ]
        | None
    ) = None


class ProjectSpec(StrictModel):
    specs: list[RelPath] = Field(
        default=["."], description="Folders or files, relative to the root, that hold the specs."
    )
    artifacts: RelPath = Field(default="artifacts", description="Where pipeline stages write.")
    deploy_dir: RelPath = Field(
        default="deploy", description="Where kserve/triton/mlserver deployments are rendered."
    )
    deploy_branch: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9]$", max_length=200)
    ] = Field(
        default="mlform/deploy",
        description="With a shared state backend, apply publishes each environment's cluster "
        "manifests on the branch <deploy_branch>/<environment> of the git remote, for Argo "
        "CD or Flux to sync.",
    )
    remote: Remote | None = None
    state: StateBackend = Field(
        default=StateBackend.model_construct(),
        description="Where plans and applies keep their state.",
    )
    environments: dict[Name, Environment] = {}
    defaults: Defaults = Defaults.model_construct()
    monitoring: Monitoring = Monitoring.model_construct()


class Project(Document):
    """The project: where specs live, the DVC remote, environments and defaults."""

    kind: Literal["Project"]
    spec: ProjectSpec = ProjectSpec.model_construct()
