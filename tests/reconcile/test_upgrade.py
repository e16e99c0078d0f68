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


def test_a_featureset_without_derived_features_has_the_spec_it_had(credit: Path) -> None:
    """A FeatureSet that derives nothing records no `derived` (mlform 0.1's states have
    none): upgrading plans no update of every FeatureSet, and no retrain downstream."""
    path = credit / "ml/features.yaml"
    text = path.read_text()
    block = text[text.index("  derived:\n") : text.index("  transforms:\n")]
    derived = ", debt_to_income, monthly_payment, payment_to_income]"
    assert derived in text
    path.write_text(text.replace(block, "").replace(derived, "]"))
    spec = desired(mlform.load(credit), {})["featureset.credit-features"].spec
    assert "derived" not in spec and spec["transforms"]


def test_a_featureset_with_derived_features_records_them(credit: Path) -> None:
    spec = desired(mlform.load(credit), {})["featureset.credit-features"].spec
    assert spec["derived"]["debt_to_income"] == "loan_amount / income"
