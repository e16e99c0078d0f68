"""`mlform stage profile DATASET`: per-column statistics, histograms and target correlation.

``profile.json`` is also the reference distribution drift monitoring compares live traffic
against: numeric columns carry a 1,001-point quantile sketch and their histogram, categorical
columns their full frequency table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlform.stage_params import Column, DatasetParams

if TYPE_CHECKING:
    import pandas as pd

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
BINS = 20
SKETCH_POINTS = 1001
TOP = 20
MAX_CATEGORIES = 1000


def profile(frame: pd.DataFrame, params: DatasetParams, name: str) -> dict[str, Any]:
    target = params.target
    columns: dict[str, Any] = {}
    for column, spec in params.columns.items():
        if column in frame.columns:
            columns[column] = _column(frame, column, spec.dtype, target, params.columns)
    return {"dataset": name, "rows": len(frame), "target": target, "columns": columns}


def _column(
    frame: pd.DataFrame, name: str, dtype: str, target: str, schema: dict[str, Column]
) -> dict[str, Any]:
    values = frame[name]
    out: dict[str, Any] = {
        "dtype": dtype,
        "count": int(values.notna().sum()),
        "missing": int(values.isna().sum()),
        "missing_fraction": float(values.isna().mean()) if len(values) else 0.0,
        "unique": int(values.nunique(dropna=True)),
    }
    if dtype in ("int", "float", "bool"):
        out["kind"] = "numeric"
        out.update(_numeric(values.astype("float64")))
    elif dtype == "datetime":
        out["kind"] = "datetime"
        present = values.dropna()
        out["min"] = present.min().isoformat() if len(present) else None
        out["max"] = present.max().isoformat() if len(present) else None
    else:
        out["kind"] = "categorical"
        out.update(_categorical(values))
    if name != target and target in frame.columns and out["kind"] != "datetime":
        out["target_correlation"] = _correlation(
            frame, name, out["kind"], target, schema[target].dtype
        )
    return out


def _numeric(values: pd.Series) -> dict[str, Any]:
    import numpy as np

    present = values.dropna().to_numpy()
    if present.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None}
    counts, edges = np.histogram(present, bins=BINS)
    return {
        "min": float(present.min()),
        "max": float(present.max()),
        "mean": float(present.mean()),
        "std": float(present.std(ddof=1)) if present.size > 1 else 0.0,
        "quantiles": {f"{q:g}": float(np.quantile(present, q)) for q in QUANTILES},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "sketch": np.quantile(present, np.linspace(0, 1, SKETCH_POINTS)).tolist(),
    }


def _categorical(values: pd.Series) -> dict[str, Any]:
    counts = values.dropna().astype(str).value_counts()
    frequencies = {str(k): int(v) for k, v in counts.head(MAX_CATEGORIES).items()}
    return {
        "top": [{"value": k, "count": v} for k, v in list(frequencies.items())[:TOP]],
        "frequencies": frequencies,
        "truncated": len(counts) > MAX_CATEGORIES,
    }


def _correlation(
    frame: pd.DataFrame, name: str, kind: str, target: str, target_dtype: str
) -> float | None:
    """Pearson for numeric features against a numeric target; Cramér's V otherwise."""
    import numpy as np
    import pandas as pd

    pair = frame[[name, target]].dropna()
    if len(pair) < 3:
        return None
    numeric_target = target_dtype in ("int", "float", "bool")
    if kind == "numeric" and numeric_target:
        x, y = pair[name].astype(float), pair[target].astype(float)
        if x.std() == 0 or y.std() == 0:
            return None
        return float(np.corrcoef(x, y)[0, 1])
    x = (
        pair[name].astype(str)
        if kind == "categorical"
        else pd.qcut(pair[name].astype(float), 10, duplicates="drop").astype(str)
    )
    table = pd.crosstab(x, pair[target].astype(str)).to_numpy().astype(float)
    if min(table.shape) < 2:
        return None
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
