"""Checks across documents, run after every document passed its own schema."""

from __future__ import annotations

from mlform.checks.cleaning import check_cleaning
from mlform.checks.context import Context
from mlform.checks.data import check_datasets, check_featuresets
from mlform.checks.outputs import check_outputs
from mlform.checks.paths import check_paths
from mlform.checks.refs import check_references, check_unique_names
from mlform.checks.serving import check_deployments, check_monitors, check_retrain_policies
from mlform.checks.training import check_models, check_trainings
from mlform.diagnostics import Diagnostics
from mlform.workspace import Workspace

CHECKS = (
    check_unique_names,
    check_references,
    check_paths,
    check_outputs,
    check_datasets,
    check_cleaning,
    check_featuresets,
    check_trainings,
    check_models,
    check_deployments,
    check_monitors,
    check_retrain_policies,
)


def run_checks(workspace: Workspace) -> Diagnostics:
    """Every cross-document diagnostic of a workspace."""
    ctx = Context(workspace)
    for check in CHECKS:
        check(ctx)
    return ctx.diagnostics
