"""Drift statistics, vectorized: one histogram pass per numeric column gives every method.

A numeric reference is a sorted quantile sketch (the profile stage keeps 1,001 points) plus
its size and standard deviation; a categorical reference is its category counts. Against a
current window:

- ``psi``: population stability index over the reference's decile bins, empty bins floored
  at ``EPSILON`` (the conventional reading: < 0.1 stable, 0.1–0.25 moderate, > 0.25 major);
  categorical columns use one bin per category.
- ``ks``: two-sample Kolmogorov–Smirnov; the statistic is the largest gap between the two
  CDFs on the sketch's points, the p-value scipy's (``kstwo``, effective sample size).
- ``wasserstein``: the 1-D earth mover's distance divided by the reference's standard
  deviation (Evidently's "normed" Wasserstein), over the inner 99.8 % of the quantiles (the
  sketch does not describe the shape of the outer 0.1 % on each side).
- ``jensen-shannon``: the Jensen–Shannon distance (natural log) between bin shares:
  categories, or the reference's 20 quantile bins for numeric columns.
- ``chi2``: Pearson's chi-square test of the current counts against the reference shares
  (taken as exact, as Evidently does: on large windows it flags small differences).

For ``ks`` and ``chi2`` the score is a p-value and a column drifts when it is *below* the
threshold; for the others the score is a distance and a column drifts at or *above* it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

EPSILON = 1e-4
P_VALUE_METHODS = ("ks", "chi2")
DEFAULT_THRESHOLDS = {
    "psi": 0.2,
    "ks": 0.05,
    "chi2": 0.05,
    "jensen-shannon": 0.1,
    "wasserstein": 0.1,
}
SKETCH_POINTS = 1001
WASSERSTEIN_GRID = 20_000


@dataclass(frozen=True)
class NumericReference:
    sketch: Any  # sorted quantiles of the reference, at evenly spaced probabilities
    count: int
    std: float

    @classmethod
    def from_values(cls, values: Any, points: int = SKETCH_POINTS) -> NumericReference:
        data = np.asarray(values, dtype=np.float64)
        data = data[~np.isnan(data)]
        return cls(np.quantile(data, np.linspace(0, 1, points)), int(data.size), float(data.std()))


@dataclass(frozen=True)
class CategoricalReference:
    counts: dict[str, int]

    @property
    def count(self) -> int:
        return sum(self.counts.values())


Reference = NumericReference | CategoricalReference


@dataclass
class FeatureDrift:
    feature: str
    method: str
    score: float
    threshold: float
    drifted: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "p_value" if self.method in P_VALUE_METHODS else "distance"

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "method": self.method,
            "score": self.score,
            "score_kind": self.kind,
            "threshold": self.threshold,
            "drifted": self.drifted,
            **self.details,
        }


def default_method(reference: Reference, numeric: bool) -> str:
    """Evidently's defaults: KS / chi-square for small references, else Wasserstein / JS."""
    small = reference.count <= 1000
    if numeric:
        return "ks" if small else "wasserstein"
    return "chi2" if small else "jensen-shannon"


def drifted(method: str, score: float, threshold: float) -> bool:
    if np.isnan(score):
        return False
    return score < threshold if method in P_VALUE_METHODS else score >= threshold


# --- numeric -----------------------------------------------------------------------------
def numeric_scores(
    reference: NumericReference, values: Any, methods: tuple[str, ...]
) -> dict[str, float]:
    """Every requested method from one sort of the current values."""
    current = np.asarray(values, dtype=np.float64)
    current = np.sort(current[~np.isnan(current)])
    n = current.size
    if n == 0:
        return {m: float("nan") for m in methods}
    sketch = reference.sketch
    points = len(sketch)
    probabilities = np.linspace(0, 1, points)

    def cur_cdf(x: Any) -> Any:
        return np.searchsorted(current, x, side="right") / n

    out: dict[str, float] = {}
    if "ks" in methods:
        edges, first = np.unique(sketch, return_index=True)
        # F_ref at each distinct quantile: the largest probability that quantile carries.
        ref_cdf = probabilities[np.r_[first[1:] - 1, points - 1]]
        statistic = float(np.max(np.abs(ref_cdf - cur_cdf(edges))))
        out["ks"] = _ks_p_value(statistic, reference.count, n)
        out["_ks_statistic"] = statistic
    if "wasserstein" in methods:
        # W1 = ∫ |F_ref⁻¹(u) − F_cur⁻¹(u)| du at the midpoints of a fine grid of u, over the
        # sketch's inner range: between its first and last two points (the minimum and the
        # 0.1 % quantile, say) the sketch knows nothing of the shape, and a straight line
        # there overstates heavy tails many times over. So the outer 0.1 % on each side is
        # left out (a trimmed Wasserstein distance).
        edge = 1.0 / (points - 1)
        u = edge + (np.arange(WASSERSTEIN_GRID) + 0.5) * (1 - 2 * edge) / WASSERSTEIN_GRID
        ref_q = np.interp(u, probabilities, sketch)
        cur_q = current[np.minimum((u * n).astype(np.int64), n - 1)]
        inner = float(np.mean(np.abs(ref_q - cur_q))) * (1 - 2 * edge)
        out["wasserstein"] = inner / max(reference.std, 0.001)
    for method, bins in (("psi", 10), ("jensen-shannon", 20)):
        if method in methods:
            cut, ref_share = quantile_bins(reference, bins)
            cur_share = bin_shares(current, cut)
            out[method] = (
                _psi(ref_share, cur_share)
                if method == "psi"
                else _jensen_shannon(ref_share, cur_share)
            )
    return out


def quantile_bins(reference: NumericReference, bins: int) -> tuple[Any, Any]:
    """The inner edges of the reference's ``bins`` quantile bins (read off its sketch; equal
    quantiles merge bins), and the reference's share in each bin."""
    sketch = reference.sketch
    points = len(sketch)
    cut = np.unique(sketch[np.linspace(0, points - 1, bins + 1).round().astype(int)][1:-1])
    return cut, np.diff(np.r_[0.0, np.interp(cut, sketch, np.linspace(0, 1, points)), 1.0])


def bin_shares(current: Any, cut: Any) -> Any:
    """The share of sorted ``current`` values in each bin between the inner edges ``cut``."""
    n = current.size
    return np.diff(np.r_[0, np.searchsorted(current, cut, side="right"), n]) / max(n, 1)


def _ks_p_value(statistic: float, n1: int, n2: int) -> float:
    """scipy's two-sample p-value (``ks_2samp``'s asymptotic mode): the one-sample
    distribution of the statistic at the effective sample size n1·n2/(n1+n2). Far in the
    tail (Kolmogorov's limit under 1e-6) the limit is returned: scipy's exact series takes
    ~50 ms there, and any such p-value means drift."""
    from scipy.stats import kstwo, kstwobign

    effective = n1 * n2 / (n1 + n2)
    limit = float(kstwobign.sf(statistic * np.sqrt(effective)))
    if limit < 1e-6:
        return limit
    return float(kstwo.sf(statistic, max(round(effective), 1)))


def category_counts(values: Any) -> dict[str, int]:
    """Counts of a column: pandas Categorical (fast), or any array of strings."""
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        tally = np.bincount(codes[codes >= 0], minlength=len(series.cat.categories))
        return {str(c): int(k) for c, k in zip(series.cat.categories, tally, strict=True) if k}
    return {str(k): int(v) for k, v in series.dropna().value_counts().items()}


def categorical_scores(
    reference: CategoricalReference, counts: dict[str, int], methods: tuple[str, ...]
) -> dict[str, float]:
    keys = sorted(set(reference.counts) | set(counts))
    ref = np.array([reference.counts.get(k, 0) for k in keys], dtype=np.float64)
    cur = np.array([counts.get(k, 0) for k in keys], dtype=np.float64)
    n = cur.sum()
    out: dict[str, float] = {}
    if n == 0 or ref.sum() == 0:
        return {m: float("nan") for m in methods}
    ref_share, cur_share = ref / ref.sum(), cur / n
    if "chi2" in methods:
        from scipy.stats import chisquare

        expected = ref * (n / ref.sum())
        keep = expected > 0
        if (cur[~keep] > 0).any():  # a category the reference never saw
            out["chi2"] = 0.0
        else:
            out["chi2"] = float(
                chisquare(cur[keep], expected[keep] * cur[keep].sum() / expected[keep].sum())[1]
            )
    if "jensen-shannon" in methods:
        out["jensen-shannon"] = _jensen_shannon(ref_share, cur_share)
    if "psi" in methods:
        out["psi"] = _psi(ref_share, cur_share)
    if "ks" in methods or "wasserstein" in methods:
        raise ValueError("ks and wasserstein compare numeric distributions")
    return out


# --- shared ------------------------------------------------------------------------------
def _psi(reference: Any, current: Any) -> float:
    ref = np.maximum(reference, EPSILON)
    cur = np.maximum(current, EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _jensen_shannon(p: Any, q: Any) -> float:
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    q = np.asarray(q, dtype=np.float64) / np.sum(q)
    m = (p + q) / 2

    def kl(a: Any, b: Any) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])))

    return float(np.sqrt(max((kl(p, m) + kl(q, m)) / 2, 0.0)))


def feature_drift(
    feature: str, reference: Reference, values: Any, method: str, threshold: float
) -> FeatureDrift:
    if isinstance(reference, NumericReference):
        scores = numeric_scores(reference, values, (method,))
    else:
        scores = categorical_scores(reference, category_counts(values), (method,))
    score = scores[method]
    details = {"ks_statistic": scores["_ks_statistic"]} if "_ks_statistic" in scores else {}
    return FeatureDrift(
        feature, method, float(score), threshold, drifted(method, score, threshold), details
    )
