"""The headline comparison of bench_drift.py: the same per-column tests on the same data.

Two data cases, each a reference and a current parquet file plus the ``profile.json`` mlform's
profile stage writes from the reference (`mlform.runtime.profile.profile`, the function the
pipeline runs):

- "synthetic": bench_drift.py's generated 100,000-row reference and 1,000,000-row current
  (14 numeric, 6 categorical columns, Categorical dtype);
- "credit": the credit-risk example's own data: the committed training data
  ``examples/credit-risk/data/credit.csv`` (5,000 rows) as reference and traffic drawn by
  the example's ``data/generate.py`` (``--seed 9 --shift 1``, as the README's walk-through,
  20,000 rows by default) as current, over the 7 features its Monitor watches
  (``ml/monitor.yaml``); string columns, as a window's JSON gives them.

mlform's sides score each column as ``monitor run`` does (``monitoring.monitor._data_drift``:
``pd.to_numeric`` for numeric columns, ``dropna().astype(str)`` for non-Categorical ones, then
``drift.feature_drift``) with KS (numeric) and chi-square (categorical) at 0.05, the tests
Evidently runs with ``method="ks"`` / ``"chisquare"``, so scores and decisions are comparable.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
CREDIT = HERE.parent / "examples" / "credit-risk"
CREDIT_NUMERIC = ["age", "income", "loan_amount", "employment_years"]
CREDIT_CATEGORICAL = ["purpose", "housing", "credit_history"]
CREDIT_DTYPES = {
    "age": "int",
    "income": "float",
    "loan_amount": "float",
    "employment_years": "float",
}
CREDIT_SEED, CREDIT_SHIFT = 9, 1.0

P_THRESHOLD = 0.05  # mlform's and Evidently's default for both tests
MLFORM_TEST = {"numeric": "ks", "categorical": "chi2"}
EVIDENTLY_TEST = {"numeric": "ks", "categorical": "chisquare"}
TOL_CHI2 = 1e-9  # same counts, same formula (scipy's chisquare on both sides)


@dataclass(frozen=True)
class Case:
    name: str
    reference_path: Path
    current_path: Path
    profile_path: Path
    spec_path: Path  # for the Evidently runner
    numeric: list[str]
    categorical: list[str]
    reference_rows: int
    rows: int
    about: str  # one line for RESULTS.md

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


def write_case(
    name: str,
    work: Path,
    reference: Any,
    current: Any,
    dtypes: dict[str, str],
    about: str,
) -> Case:
    """Write the two frames as parquet, the reference's profile.json (the profile stage's own
    function) and the runner's spec."""
    from mlform.runtime.profile import profile
    from mlform.stage_params import Column

    work.mkdir(parents=True, exist_ok=True)
    paths = work / "reference.parquet", work / "current.parquet"
    reference.to_parquet(paths[0], engine="pyarrow", index=False)
    current.to_parquet(paths[1], engine="pyarrow", index=False)
    numeric = [c for c in reference.columns if dtypes[c] in ("int", "float")]
    categorical = [c for c in reference.columns if dtypes[c] == "category"]
    # profile() reads only .target and .columns of the Dataset's parameters; no target here.
    params = SimpleNamespace(target="", columns={c: Column(dtypes[c]) for c in reference.columns})
    profile_path = work / "profile.json"
    profile_path.write_text(json.dumps(profile(reference, params, name)))
    spec = work / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "reference": str(paths[0]),
                "current": str(paths[1]),
                "numeric": numeric,
                "categorical": categorical,
            }
        )
    )
    return Case(
        name, paths[0], paths[1], profile_path, spec, numeric, categorical,
        len(reference), len(current), about,
    )  # fmt: skip


def credit_frames(rows: int) -> tuple[Any, Any]:
    """The credit example's training data and drifted traffic from its own generator."""
    import pandas as pd

    spec = importlib.util.spec_from_file_location(
        "credit_generate", CREDIT / "data" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    features = CREDIT_NUMERIC + CREDIT_CATEGORICAL
    reference = pd.read_csv(CREDIT / "data" / "credit.csv")[features]
    current = pd.DataFrame.from_records(module.generate(rows, CREDIT_SEED, CREDIT_SHIFT))[features]
    for c in CREDIT_NUMERIC:  # generate() writes CSV cells: numbers as text, "" for missing
        current[c] = pd.to_numeric(current[c].replace("", None), errors="coerce")
    return reference, current


# ------------------------------------------------------------------------------------------
# mlform's sides
# ------------------------------------------------------------------------------------------
def window_values(column: Any, numeric: bool) -> Any:
    """A window's column as ``monitor._data_drift`` hands it to ``feature_drift``."""
    import pandas as pd

    if numeric:
        return pd.to_numeric(column, errors="coerce")
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column
    return column.dropna().astype(str)


def score(case: Case, references: dict[str, Any], current: Any) -> dict[str, Any]:
    """KS / chi-square per column: name -> drift.FeatureDrift."""
    from mlform.monitoring import drift

    out: dict[str, Any] = {}
    for c in case.features:
        numeric = c in case.numeric
        method = MLFORM_TEST["numeric" if numeric else "categorical"]
        out[c] = drift.feature_drift(
            c, references[c], window_values(current[c], numeric), method, P_THRESHOLD
        )
    return out


def cold(case: Case, reference: Any, current: Any) -> dict[str, Any]:
    """Build the references from the raw reference rows, then score."""
    from mlform.monitoring import drift

    references: dict[str, Any] = {
        c: drift.NumericReference.from_values(window_values(reference[c], True))
        for c in case.numeric
    }
    for c in case.categorical:
        references[c] = drift.CategoricalReference(
            drift.category_counts(window_values(reference[c], False))
        )
    return score(case, references, current)


def warm(case: Case, current: Any) -> dict[str, Any]:
    """Read the references from profile.json as ``monitor run`` does, then score."""
    from mlform.monitoring.reference import column_reference

    columns = json.loads(case.profile_path.read_text())["columns"]
    return score(case, {c: column_reference(columns[c]) for c in case.features}, current)


# ------------------------------------------------------------------------------------------
# Agreement, checked before timing
# ------------------------------------------------------------------------------------------
@dataclass
class Agreement:
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per column
    problems: list[str] = field(default_factory=list)


def agreement(
    case: Case,
    cold_scores: dict[str, Any],
    warm_scores: dict[str, Any],
    lean: dict[str, Any],
    preset: dict[str, Any],
) -> Agreement:
    """mlform cold = warm; Evidently lean = preset; mlform vs Evidently: same decision per
    column; chi-square p-values within TOL_CHI2; Evidently's KS p-value inside the band of
    p-values mlform's KS statistic allows (the sketch puts the statistic within
    1/(SKETCH_POINTS-1) + 1/n_ref of the exact one)."""
    from mlform.monitoring import drift

    found = Agreement()
    for c in case.features:
        numeric = c in case.numeric
        ml, ml_warm = cold_scores[c], warm_scores[c]
        if abs(ml.score - ml_warm.score) > 1e-12 or ml.drifted != ml_warm.drifted:
            found.problems.append(
                f"{case.name}/{c}: mlform cold ({ml.score}) and warm ({ml_warm.score}) differ"
            )
        method = EVIDENTLY_TEST["numeric" if numeric else "categorical"]
        ev_lean = lean["columns"].get(c, {}).get(method)
        ev_preset = preset["columns"].get(c, {}).get(method)
        if ev_lean is None or ev_preset is None:
            found.problems.append(f"{case.name}/{c}: Evidently did not run {method!r}")
            continue
        if abs(ev_lean["score"] - ev_preset["score"]) > 1e-12:
            found.problems.append(f"{case.name}/{c}: Evidently's lean report and preset differ")
        ev_p = float(ev_lean["score"])
        ev_drifted = ev_p < float(ev_lean["threshold"])
        row: dict[str, Any] = {
            "column": c,
            "test": "KS" if numeric else "chi²",
            "p_mlform": ml.score,
            "p_evidently": ev_p,
            "drifted": (ml.drifted, ev_drifted),
        }
        if numeric:
            d = float(ml.details["ks_statistic"])
            n_ref, n_cur = _counts(case, c)
            tol = 1.0 / (drift.SKETCH_POINTS - 1) + 1.0 / n_ref
            low = drift._ks_p_value(min(d + tol, 1.0), n_ref, n_cur)
            high = drift._ks_p_value(max(d - tol, 0.0), n_ref, n_cur)
            row["allowed"] = f"[{low:.3g}, {high:.3g}] (KS D {d:.4g} ± {tol:.4g})"
            ok = low - 1e-12 <= ev_p <= high + 1e-12
        else:
            row["allowed"] = f"± {TOL_CHI2:g}"
            ok = abs(ml.score - ev_p) <= TOL_CHI2
        row["ok"] = ok and ml.drifted == ev_drifted
        if not ok:
            found.problems.append(
                f"{case.name}/{c}: {row['test']} p-value mlform {ml.score:.6g}, Evidently "
                f"{ev_p:.6g}, allowed {row['allowed']}"
            )
        if ml.drifted != ev_drifted:
            found.problems.append(
                f"{case.name}/{c}: mlform says drifted={ml.drifted}, Evidently {ev_drifted}"
            )
        found.rows.append(row)
    return found


def _counts(case: Case, column: str) -> tuple[int, int]:
    """Non-missing reference and current rows of a numeric column (from the profile and the
    current file's metadata would do; reading the column is simplest and untimed)."""
    import pandas as pd

    ref = pd.read_parquet(case.reference_path, columns=[column])[column]
    cur = pd.read_parquet(case.current_path, columns=[column])[column]
    return int(ref.notna().sum()), int(cur.notna().sum())
