"""Commands: options in, one API call, an exit code out. Nothing else lives here.

Every command but validate is imported when it runs (see lazy.py); COMMANDS says where each
lives and what `mlform --help` says of it.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlform.cli.lazy import Lazy, LazyGroup
from mlform.cli.options import FORMAT, PATH_ARG
from mlform.version import __version__

_CLI = "mlform.cli."
COMMANDS: dict[str, Lazy] = {
    "apply": Lazy(
        _CLI + "reconcile", "apply_", "Make the world match the specs (or exactly a saved plan)."
    ),
    "compile": Lazy(
        _CLI + "commands",
        "compile_",
        "Render the specs: the DVC pipeline, cluster deployments and Prometheus rules.",
    ),
    "destroy": Lazy(
        _CLI + "reconcile",
        "destroy",
        "Tear an environment down: stop servers, remove rendered deployments, forget its state.",
    ),
    "experiments": Lazy(
        _CLI + "experiments",
        "experiments",
        "Run and compare DVC experiments with spec-level parameter names.",
    ),
    "feedback": Lazy(
        _CLI + "feedback", "feedback", "Labelled production feedback, as retraining takes it."
    ),
    "force-unlock": Lazy(
        _CLI + "reconcile",
        "force_unlock",
        "Remove a stuck lock (only when no operation holds it).",
    ),
    "hooks": Lazy(_CLI + "gitops", "hooks", "Git hooks that reconcile on every push."),
    "init": Lazy(
        _CLI + "commands",
        "init",
        "Create a new spec repository in DIRECTORY (or a copy of an example), with git and DVC.",
    ),
    "metrics": Lazy(_CLI + "experiments", "metrics", "Metrics of the pipeline."),
    "models": Lazy(
        _CLI + "models", "models", "Model versions (git tags in GTO's format) and their stages."
    ),
    "monitor": Lazy(
        _CLI + "monitor",
        "monitor",
        "Drift, performance, fairness and data quality of deployed models.",
    ),
    "plan": Lazy(
        _CLI + "reconcile",
        "plan_",
        "What apply would do: specs vs recorded state vs what is actually there.",
    ),
    "reconcile": Lazy(
        _CLI + "gitops",
        "reconcile",
        "Apply the checked-out revision if it changed anything (what a push runs).",
    ),
    "retrain": Lazy(_CLI + "monitor", "retrain", "Automated retraining under RetrainPolicies."),
    "schema": Lazy(
        _CLI + "commands",
        "schema",
        "JSON Schemas of the spec language, and what specs may name.",
    ),
    "serve": Lazy(
        _CLI + "serve",
        "serve",
        "Serve a local Deployment in the foreground (Ctrl-C or SIGTERM stops it gracefully).",
    ),
    "server": Lazy(
        _CLI + "serve",
        "server",
        "Local servers in the background (what `apply` uses for the local target).",
    ),
    "show": Lazy(_CLI + "reconcile", "show", "Print a saved plan."),
    "stage": Lazy(
        _CLI + "commands",
        "stage",
        "Run one pipeline stage (what the generated dvc.yaml calls).",
        hidden=True,
    ),
    "state": Lazy(
        _CLI + "state",
        "state",
        "The reconciler's state: list, show, pull, push, and migrate between backends.",
    ),
    "status": Lazy(
        _CLI + "reconcile",
        "status",
        "Sync and health of every resource, like Argo CD; applied and attempted revisions.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mlform")
def cli() -> None:
    """mlform: your ML lifecycle as versioned YAML, compiled and reconciled."""


@cli.command()
@PATH_ARG
@FORMAT
def validate(path: Path, output: str) -> int:
    """Check every spec of the project containing PATH; exit 1 when any error is found."""
    from mlform import api
    from mlform.cli.output import print_validation

    result = api.validate(path)
    print_validation(result, output)
    return 0 if result.valid else 1
