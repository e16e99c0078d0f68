"""The drift statistics against scipy's reference implementations, and cron schedules."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlform.monitoring import drift
from mlform.monitoring.export import prometheus_text
from mlform.retraining.schedule import fired

RNG = np.random.default_rng(0)
REFERENCE = RNG.normal(50, 10, 20_000)
SAME = RNG.normal(50, 10, 5_000)
SHIFTED = RNG.normal(55, 12, 5_000)


@pytest.mark.parametrize("current", [SAME, SHIFTED], ids=["same", "shifted"])
def test_ks_matches_scipy(current: np.ndarray) -> None:
    ref = drift.NumericReference.from_values(REFERENCE)
    scores = drift.numeric_scores(ref, current, ("ks",))
    expected = stats.ks_2samp(REFERENCE, current)
    # The reference is a 1,001-point sketch, so the statistic is within about 1/1000.
    assert abs(scores["_ks_statistic"] - expected.statistic) < 2e-3
    if expected.pvalue < 1e-6:
        assert scores["ks"] < 1e-6
    else:
        assert abs(scores["ks"] - expected.pvalue) < 0.1


@pytest.mark.parametrize("current", [SAME, SHIFTED], ids=["same", "shifted"])
def test_normed_wasserstein_matches_scipy(current: np.ndarray) -> None:
    ref = drift.NumericReference.from_values(REFERENCE)
    score = drift.numeric_scores(ref, current, ("wasserstein",))["wasserstein"]
    expected = stats.wasserstein_distance(REFERENCE, current) / np.std(REFERENCE)
    assert score == pytest.approx(expected, rel=0.02, abs=2e-3)


def test_psi_is_the_textbook_formula_on_reference_deciles() -> None:
    ref = drift.NumericReference.from_values(REFERENCE)
    score = drift.numeric_scores(ref, SHIFTED, ("psi",))["psi"]
    edges = np.quantile(REFERENCE, np.linspace(0, 1, 11))[1:-1]
    r = np.diff(np.r_[0, np.searchsorted(np.sort(REFERENCE), edges, "right"), REFERENCE.size])
    c = np.diff(np.r_[0, np.searchsorted(np.sort(SHIFTED), edges, "right"), SHIFTED.size])
    p, q = r / r.sum(), c / c.sum()
    assert score == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=0.02)
    assert drift.numeric_scores(ref, SAME, ("psi",))["psi"] < 0.02


def test_categorical_methods_match_scipy_exactly() -> None:
    ref = drift.CategoricalReference({"a": 500, "b": 300, "c": 200})
    counts = {"a": 100, "b": 150, "c": 50}
    scores = drift.categorical_scores(ref, counts, ("chi2", "jensen-shannon", "psi"))
    expected_chi2 = stats.chisquare([100, 150, 50], [150, 90, 60]).pvalue
    assert scores["chi2"] == pytest.approx(expected_chi2, rel=1e-9)
    assert scores["jensen-shannon"] == pytest.approx(
        jensenshannon([0.5, 0.3, 0.2], [1 / 3, 0.5, 1 / 6]), rel=1e-9
    )


def test_a_category_the_reference_never_saw_is_drift() -> None:
    ref = drift.CategoricalReference({"a": 500, "b": 500})
    scores = drift.categorical_scores(ref, {"a": 50, "b": 40, "z": 10}, ("chi2", "psi"))
    assert scores["chi2"] == 0.0 and scores["psi"] > 0.5


def test_missing_values_are_ignored_and_an_empty_column_never_drifts() -> None:
    ref = drift.NumericReference.from_values(REFERENCE)
    with_nan = np.r_[SAME, [np.nan] * 100]
    a = drift.numeric_scores(ref, with_nan, ("wasserstein",))["wasserstein"]
    b = drift.numeric_scores(ref, SAME, ("wasserstein",))["wasserstein"]
    assert a == b
    empty = drift.feature_drift("x", ref, np.array([np.nan]), "psi", 0.2)
    assert np.isnan(empty.score) and not empty.drifted


def test_p_values_drift_below_and_distances_at_or_above() -> None:
    assert drift.drifted("ks", 0.01, 0.05) and not drift.drifted("ks", 0.05, 0.05)
    assert drift.drifted("psi", 0.2, 0.2) and not drift.drifted("psi", 0.19, 0.2)


def test_default_methods_follow_evidently() -> None:
    small = drift.NumericReference.from_values(REFERENCE[:1000])
    large = drift.NumericReference.from_values(REFERENCE)
    assert drift.default_method(small, True) == "ks"
    assert drift.default_method(large, True) == "wasserstein"
    assert drift.default_method(drift.CategoricalReference({"a": 10}), False) == "chi2"
    assert drift.default_method(drift.CategoricalReference({"a": 5000}), False) == "jensen-shannon"


def test_exported_label_values_are_escaped() -> None:
    text = prometheus_text(
        {
            "monitor": "m",
            "model": "x",
            "version": "v1",
            "status": "ok",
            "ran_at": "2026-01-01T00:00:00Z",
            "window": {"rows": 3},
            "data_drift": {
                "features": [
                    {
                        "feature": 'we"ird\\name\n',
                        "method": "psi",
                        "score": float("nan"),
                        "threshold": 0.2,
                        "drifted": False,
                    }
                ],
                "share": 0.0,
                "detected": False,
            },
        }
    )
    assert 'feature="we\\"ird\\\\name\\n",method="psi"} NaN' in text
    assert "mlform_monitor_last_run_timestamp_seconds" in text and "1767225600.0" in text


def at(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")))


@pytest.mark.parametrize(
    ("cron", "since", "until", "expected"),
    [
        ("0 3 * * 1", "2026-11-22 12:00", "2026-11-23 02:59", False),  # Monday 03:00 not yet
        ("0 3 * * 1", "2026-11-22 12:00", "2026-11-23 03:00", True),
        ("*/15 * * * *", "2026-11-23 10:01", "2026-11-23 10:14", False),
        ("*/15 * * * *", "2026-11-23 10:01", "2026-11-23 10:15", True),
        ("@daily", "2026-11-23 00:00", "2026-11-23 23:59", False),  # since is exclusive
        ("@daily", "2026-11-23 00:00", "2026-11-24 00:00", True),
        ("0 0 13 * fri", "2026-11-01 00:00", "2026-11-05 23:59", False),
        ("0 0 13 * fri", "2026-11-01 00:00", "2026-11-06 00:00", True),  # either day field
        ("0 9 * jan-mar *", "2026-04-01 00:00", "2026-12-31 23:59", False),
    ],
)
def test_cron_schedules(cron: str, since: str, until: str, expected: bool) -> None:
    assert fired(cron, at(since), at(until)) is expected


Draw = Callable[[np.random.Generator, int, float], np.ndarray]


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng, n, shift: rng.standard_t(2.1, n) + shift,
        lambda rng, n, shift: rng.lognormal(shift, 2.0, n),
        lambda rng, n, shift: np.where(rng.random(n) < 5e-4, 1e4, rng.normal(shift, 1, n)),
    ],
    ids=["student-t 2.1", "lognormal sigma 2", "normal with outliers"],
)
def test_heavy_tails_do_not_inflate_wasserstein(draw: Draw) -> None:
    rng = np.random.default_rng(1)
    reference = draw(rng, 100_000, 0.0)
    ref = drift.NumericReference.from_values(reference)
    for shift in (0.0, 0.5):
        current = draw(rng, 200_000, shift)
        score = drift.numeric_scores(ref, current, ("wasserstein",))["wasserstein"]
        exact = stats.wasserstein_distance(reference, current) / np.std(reference)
        assert abs(score - exact) <= 0.02, (shift, score, exact)
        if shift == 0.0:
            assert score < 0.05  # far under the default threshold 0.1, as the exact value is
