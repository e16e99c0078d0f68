"""The numpy metrics of the evaluate stage equal scikit-learn's, ties and edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as m

from mlform.runtime import scores


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_classification_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    proba = np.clip(rng.random(500) * 0.6 + y * 0.3, 0, 1).round(2)  # rounded: many ties
    probabilities = np.column_stack([1 - proba, proba])
    predicted = (proba > 0.5).astype(int)
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
    ours = scores.classification(y, predicted, probabilities, [0, 1], names)
    theirs = {
        "accuracy": m.accuracy_score(y, predicted),
        "balanced_accuracy": m.balanced_accuracy_score(y, predicted),
        "precision": m.precision_score(y, predicted, zero_division=0),
        "recall": m.recall_score(y, predicted),
        "f1": m.f1_score(y, predicted),
        "roc_auc": m.roc_auc_score(y, proba),
        "log_loss": m.log_loss(y, probabilities),
    }
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


def test_multiclass_matches_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    y = rng.choice(["a", "b", "c"], 400)
    raw = rng.random((400, 3)) + np.column_stack([y == "a", y == "b", y == "c"]) * 0.5
    probabilities = raw / raw.sum(1, keepdims=True)
    predicted = np.array(["a", "b", "c"])[probabilities.argmax(1)]
    ours = scores.classification(
        y,
        predicted,
        probabilities,
        ["a", "b", "c"],
        ["precision", "recall", "f1", "roc_auc", "log_loss", "accuracy"],
    )
    assert ours["precision"] == pytest.approx(m.precision_score(y, predicted, average="macro"))
    assert ours["recall"] == pytest.approx(m.recall_score(y, predicted, average="macro"))
    assert ours["f1"] == pytest.approx(m.f1_score(y, predicted, average="macro"))
    assert ours["roc_auc"] == pytest.approx(
        m.roc_auc_score(y, probabilities, multi_class="ovr", labels=["a", "b", "c"])
    )
    assert ours["log_loss"] == pytest.approx(m.log_loss(y, probabilities, labels=["a", "b", "c"]))


def test_regression_matches_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(100, 20, 300)
    predicted = y + rng.normal(0, 5, 300)
    ours = scores.regression(y, predicted, ["rmse", "mae", "r2", "mape"])
    assert ours["rmse"] == pytest.approx(m.root_mean_squared_error(y, predicted))
    assert ours["mae"] == pytest.approx(m.mean_absolute_error(y, predicted))
    assert ours["r2"] == pytest.approx(m.r2_score(y, predicted))
    assert ours["mape"] == pytest.approx(m.mean_absolute_percentage_error(y, predicted))


def test_curves_span_zero_to_one() -> None:
    truth = np.array([True, False, True, True, False, False])
    score = np.array([0.9, 0.8, 0.7, 0.7, 0.2, 0.1])
    fpr, tpr = scores.roc_points(truth, score)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(m.roc_auc_score(truth, score))
    recall, precision = scores.precision_recall_points(truth, score)
    assert recall[0] == 1.0 and recall[-1] == 0.0 and precision[-1] == 1.0


def test_auc_of_a_single_class_is_undefined() -> None:
    assert np.isnan(scores.binary_auc(np.array([True, True]), np.array([0.1, 0.2])))
