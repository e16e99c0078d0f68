"""The monitor run's self-contained HTML report: decisions, scores and, per feature, the
reference's and the window's distributions side by side (inline SVG, no scripts)."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from mlform.monitoring.drift import (
    CategoricalReference,
    NumericReference,
    bin_shares,
    quantile_bins,
)
from mlform.monitoring.reference import VersionReference
from mlform.monitoring.window import Window
from mlform.render import render
from mlform.runtime import svg
from mlform.spec import Monitor

BINS = 10
TOP = 15


def html_report(
    result: dict[str, Any], ref: VersionReference, traffic: Window, monitor: Monitor
) -> str:
    charts: dict[str, Markup] = {}
    data = result.get("data_drift")
    if data and traffic.rows:
        import pandas as pd

        frame = traffic.inputs()
        for entry in data["features"]:
            name = entry["feature"]
            reference = ref.feature(name)
            if reference is None or name not in frame.columns:
                continue
            charts[name] = _chart(reference, frame[name], pd)
    return render("monitoring/report.html.j2", result=result, charts=charts)


def _chart(reference: Any, values: Any, pd: Any) -> Markup:
    if isinstance(reference, NumericReference):
        current = np.sort(pd.to_numeric(values, errors="coerce").dropna().to_numpy())
        cut, ref_share = quantile_bins(reference, BINS)
        cur_share = bin_shares(current, cut)
        edges = [reference.sketch[0], *cut, reference.sketch[-1]]
        labels = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
        return svg.compare(labels, ref_share.tolist(), cur_share.tolist())
    assert isinstance(reference, CategoricalReference)
    counts = values.dropna().astype(str).value_counts()
    total_ref, total_cur = max(reference.count, 1), max(int(counts.sum()), 1)
    keys = sorted(
        set(reference.counts) | set(counts.index), key=lambda k: -reference.counts.get(k, 0)
    )[:TOP]
    return svg.compare(
        keys,
        [reference.counts.get(k, 0) / total_ref for k in keys],
        [int(counts.get(k, 0)) / total_cur for k in keys],
    )
