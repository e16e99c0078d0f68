#!/usr/bin/env python3
"""The Evidently side of bench_drift.py (issue 6), run in Evidently's own virtual environment.

    /work/evidently-venv/bin/python benchmarks/evidently_drift_runner.py SPEC.json

SPEC.json names the two parquet files and the numeric and categorical columns. The runner
reads both files once (`pandas.read_parquet`, as the benchmark reads them), prints one JSON
line ("ready": versions and timings), then answers one JSON command per line on stdin with one
JSON line on stdout, so the benchmark can alternate it with mlform while both hold their data
in memory (the runner sleeps on stdin while mlform is timed):

- {"cmd": "run", "report": "lean" | "preset", "numeric_method": M | null,
  "categorical_method": M | null}: one timed run. "lean": `Report([ValueDrift(column=c,
  method=M) for c in columns])`, only the per-column drift metrics; "preset":
  `Report([DataDriftPreset(num_method=M, cat_method=M)])` (null: Evidently's defaults), which
  computes every column's drift twice (in `DriftedColumnsCount`, through the legacy
  `DatasetDriftMetric`, and in its per-column `ValueDrift`). Timed with `time.perf_counter()`,
  each part apart: building the Report, `Dataset.from_pandas` of both frames (with an explicit
  DataDefinition, so no type inference), `report.run(current, reference)`, and reading the
  per-column scores from `snapshot.dict()`; "total_ms" is their sum, what a user pays from two
  DataFrames in memory to the scores.
- {"cmd": "methods", "numeric": [...], "categorical": [...]}: untimed; one report with a
  `ValueDrift(column, method=m)` for every column and stattest, plus, for every numeric
  column, `scipy.stats.ks_2samp` and `scipy.stats.wasserstein_distance` on the columns as
  Evidently cleans them (inf -> NaN, NaN dropped): Evidently's "ks" stattest reports only
  ks_2samp's p-value, and the statistic is what mlform's sketch approximates.
- {"cmd": "quit"}.

Standard library + what Evidently's venv has (pandas, numpy, scipy, evidently).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import warnings
from typing import Any


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> int:
    spec = json.loads(open(sys.argv[1]).read())  # noqa: SIM115
    t0 = time.perf_counter()
    import evidently
    import numpy as np
    import pandas as pd
    import scipy
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset
    from scipy.stats import ks_2samp, wasserstein_distance

    import_ms = (time.perf_counter() - t0) * 1000.0
    warnings.simplefilter("ignore")  # scipy's divide-by-zero for a category new in current

    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    t0 = time.perf_counter()
    reference = pd.read_parquet(spec["reference"])
    current = pd.read_parquet(spec["current"])
    read_ms = (time.perf_counter() - t0) * 1000.0
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def datasets() -> tuple[Any, Any]:
        return (
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )

    def scores(snapshot: Any) -> dict[str, Any]:
        """Per (column, method as configured) the score and threshold; the drifted count."""
        out: dict[str, Any] = {"columns": {}, "drifted_count": None}
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config.get("type", "").endswith("DriftedColumnsCount"):
                out["drifted_count"] = metric["value"]["count"]
            elif "column" in config:
                out["columns"].setdefault(config["column"], {})[config["method"]] = {
                    "score": float(metric["value"]),
                    "threshold": config["threshold"],
                }
        return out

    def build(command: dict[str, Any]) -> Any:
        num, cat = command.get("numeric_method"), command.get("categorical_method")
        if command["report"] == "preset":
            return Report([DataDriftPreset(num_method=num, cat_method=cat)])
        if command["report"] == "lean":
            return Report(
                [ValueDrift(column=c, method=num) for c in numeric]
                + [ValueDrift(column=c, method=cat) for c in categorical]
            )
        raise ValueError(f"unknown report {command['report']!r}")

    def timed_run(command: dict[str, Any]) -> dict[str, Any]:
        gc.collect()
        t0 = time.perf_counter()
        report = build(command)
        t1 = time.perf_counter()
        cur, ref = datasets()
        t2 = time.perf_counter()
        snapshot = report.run(cur, ref)
        t3 = time.perf_counter()
        found = scores(snapshot)
        t4 = time.perf_counter()
        return {
            "report_ms": (t1 - t0) * 1000.0,
            "datasets_ms": (t2 - t1) * 1000.0,
            "run_ms": (t3 - t2) * 1000.0,
            "extract_ms": (t4 - t3) * 1000.0,
            "total_ms": (t4 - t0) * 1000.0,
            **found,
        }

    emit(
        {
            "ready": True,
            "versions": {
                "evidently": evidently.__version__,
                "pandas": pd.__version__,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "pyarrow": __import__("pyarrow").__version__,
                "python": sys.version.split()[0],
            },
            "import_ms": import_ms,
            "read_ms": read_ms,
            "dtypes": {c: str(t) for c, t in reference.dtypes.items()},
            "rows": [len(reference), len(current)],
        }
    )

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "quit":
            break
        if cmd == "run":
            emit(timed_run(command))
        elif cmd == "methods":
            metrics = [
                ValueDrift(column=c, method=m) for c in numeric for m in command["numeric"]
            ] + [
                ValueDrift(column=c, method=m) for c in categorical for m in command["categorical"]
            ]
            t0 = time.perf_counter()
            cur, ref = datasets()
            found = scores(Report(metrics).run(cur, ref))
            scipy_out: dict[str, Any] = {}
            for c in numeric:
                r = reference[c].replace([-np.inf, np.inf], np.nan).dropna()
                x = current[c].replace([-np.inf, np.inf], np.nan).dropna()
                ks = ks_2samp(r, x)
                scipy_out[c] = {
                    "ks_statistic": float(ks.statistic),
                    "ks_p_value": float(ks.pvalue),
                    "wasserstein_normed": float(wasserstein_distance(r, x))
                    / max(float(np.std(r)), 0.001),
                    "reference_count": int(r.size),
                    "current_count": int(x.size),
                }
            found["scipy"] = scipy_out
            found["elapsed_ms"] = (time.perf_counter() - t0) * 1000.0
            emit(found)
        else:
            emit({"error": f"unknown command {cmd!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
