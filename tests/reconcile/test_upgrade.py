"""A field a newer mlform adds to a spec, at its default, plans no change of resources that
an older mlform recorded."""

from __future__ import annotations

from pathlib import Path

import mlform
from mlform.reconcile.resources import desired


def test_a_deployment_at_the_default_prediction_log_has_the_spec_it_had(credit: Path) -> None:
    spec = desired(mlform.load(credit), {})["deployment.credit-risk-local"].spec
    assert "prediction_log" not in spec  # as states written by mlform 0.1 recorded it


def test_a_deployment_that_sets_its_prediction_log_plans_the_change(credit: Path) -> None:
    path = credit / "ml/deployment.yaml"
    text = path.read_text()
    assert "\nspec:\n" in text
    path.write_text(text.replace("\nspec:\n", "\nspec:\n  prediction_log: {sample: 0.5}\n", 1))
    spec = desired(mlform.load(credit), {})["deployment.credit-risk-local"].spec
    assert spec["prediction_log"] == {"sample": 0.5, "design_rate": 100.0}
