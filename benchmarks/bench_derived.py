#!/usr/bin/env python3
"""What derived features cost in serving: ONNX latency of one row, p50, of the credit-risk
example's model with its derived features against the same model without them, in one run.

    PYTHONPATH=src /work/venv/bin/python benchmarks/bench_derived.py [--write-results]

Both models are built here, untimed, from the example's own specs: its Dataset, its
FeatureSet as shipped (three derived features: debt_to_income, monthly_payment,
payment_to_income, each imputed and scaled with the numeric columns) and the same FeatureSet
with the derived features taken out (of `derived` and of the transform's columns);
the Training's estimator with its declared params (HistGradientBoostingClassifier, no tuning,
seed 42), fitted on the same training rows, exported through mlform's own `convert` (the
export stage's code: registered converters, zipmap off, canonical bytes). Parity with
scikit-learn on the test rows is checked for both before timing (exit 2 otherwise).

Timed, side by side: `InferenceSession.run(None, feeds)` of one test row (the row changes
every call, cycling over the test split), with the session options `mlform serve` uses
(CPUExecutionProvider, one intra-op and one inter-op thread). The two sessions alternate in
rounds of --calls calls each, the order swapping every round; per side, p50/p90/p99 of the
calls' wall times. Rows measure:
- "with derived": the shipped model, derived features computed in the ONNX graph;
- "without derived": the same estimator on the same columns, no derived features;
- "derived only": a session of the DerivedFeatures part alone (its ONNX graph over its
  three input columns), to show the graph's own cost.

Goal (exit 1 when missed): p50 with derived <= p50 without + max(0.05 ms, 25 %).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

EXAMPLE = C.ROOT / "examples" / "credit-risk"
HEADING = "## Derived features: serving latency (ONNX, one row)"


def build() -> dict[str, Any]:
    """The two exported models (and the derived part alone), their sessions and feeds."""
    import numpy as np
    import onnxruntime as ort

    import mlform
    from mlform import stage_params as P
    from mlform.runtime.export import convert, feeds, parity, signature
    from mlform.runtime.frames import dtypes, model_frame, model_inputs, read_source
    from mlform.runtime.train import build_pipeline
    from mlform.spec import Dataset, FeatureSet, Training
    from mlform.targets.dvc import _dataset_params, _featureset_params, _training_params

    graph = mlform.load(EXAMPLE)
    dataset = _dataset_params(graph, graph.get(Dataset, "credit"))
    shipped = _featureset_params(graph.get(FeatureSet, "credit-features"))
    if not shipped.derived:
        raise C.Precondition("the credit-risk example declares no derived features")
    names = set(shipped.derived)
    plain = replace(
        shipped,
        derived=None,
        transforms=[
            replace(t, columns=[c for c in t.columns if c not in names]) for t in shipped.transforms
        ],
    )
    training = replace(_training_params(graph, graph.get(Training, "credit-gbm")), tuning=None)
    frame = read_source(EXAMPLE, dataset).frame
    cut = int(len(frame) * 0.75)
    train, test = frame.iloc[:cut], frame.iloc[cut:]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    out: dict[str, Any] = {}
    for label, featureset in (("with derived", shipped), ("without derived", plain)):
        inputs = model_inputs(featureset, dataset)
        X_train = model_frame(train, dtypes(dataset), inputs)
        X_test = model_frame(test, dtypes(dataset), inputs)
        pipeline = build_pipeline(training, featureset, dataset, inputs, "credit-gbm")
        pipeline.fit(X_train, train[dataset.target])
        sig = signature(dtypes(dataset), inputs)
        model = convert(pipeline, sig, 17, "classification", "credit-gbm", "credit-features")
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        checked = parity(session, pipeline, X_test, sig, "classification", P.Parity())
        if not checked["passed"]:
            raise C.Precondition(f"{label}: ONNX parity failed: {checked}")
        every = feeds(X_test, sig)
        rows = [{k: v[i : i + 1] for k, v in every.items()} for i in range(len(X_test))]
        out[label] = (session, rows, checked)
        if label == "with derived":
            out["derived only"] = _derived_part(pipeline, X_test, options)
    del np
    return out


def _derived_part(
    pipeline: Any, X_test: Any, options: Any
) -> tuple[Any, list[Any], dict[str, Any]]:
    import numpy as np
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType

    from mlform.runtime.converters import register_converters

    register_converters()
    part = pipeline.named_steps["features"].named_transformers_["t0"].named_steps["derive"]
    columns = list(part.columns)
    values = X_test[columns].to_numpy(np.float64)
    model = to_onnx(
        part, initial_types=[("X", DoubleTensorType([None, len(columns)]))], target_opset=17
    )
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    expected = part.transform(values)
    got = session.run(None, {"X": values})[0]
    if not np.allclose(expected, got, rtol=1e-12, equal_nan=True):
        raise C.Precondition("the derived part alone differs from scikit-learn")
    rows = [{"X": values[i : i + 1]} for i in range(len(values))]
    width = len(part.features)
    return session, rows, {"derived_features": width, "inputs": len(columns)}


def measure(sides: dict[str, Any], rounds: int, calls: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {label: [] for label in sides}
    labels = list(sides)
    for label in labels:  # warm-up, untimed
        session, rows, _ = sides[label]
        for i in range(200):
            session.run(None, rows[i % len(rows)])
    clock = time.perf_counter
    for r in range(rounds):
        order = labels if r % 2 == 0 else labels[::-1]
        for label in order:
            session, rows, _ = sides[label]
            run, out, n = session.run, times[label], len(rows)
            for i in range(calls):
                row = rows[(r * calls + i) % n]
                start = clock()
                run(None, row)
                out.append((clock() - start) * 1000.0)
    return times


def report(
    times: dict[str, list[float]], sides: dict[str, Any], args: argparse.Namespace, load: str
) -> tuple[str, bool]:
    p = {label: C.nearest_rank(v, 50) for label, v in times.items()}
    with_, without = p["with derived"], p["without derived"]
    allowed = without + max(0.05, 0.25 * without)
    passed = with_ <= allowed
    what = {
        "with derived": "shipped credit-risk model: 3 derived features computed in the ONNX graph",
        "without derived": "same estimator and columns, no derived features",
        "derived only": "the DerivedFeatures ONNX graph alone (3 inputs -> 3 features)",
    }
    rows = [["side", "p50", "p90", "p99", "mean", "calls", "what it measures"]]
    for label, values in times.items():
        rows.append(
            [
                label,
                f"{p[label] * 1000:.1f} us",
                f"{C.nearest_rank(values, 90) * 1000:.1f} us",
                f"{C.nearest_rank(values, 99) * 1000:.1f} us",
                f"{statistics.fmean(values) * 1000:.1f} us",
                f"{len(values):,}",
                what[label],
            ]
        )
    table = C.text_table(rows)
    diff = (with_ - without) * 1000
    verdict = (
        f"Goal: p50 with derived <= p50 without + max(50 us, 25 %) = {allowed * 1000:.1f} us: "
        f"{'met' if passed else 'MISSED'} (with - without = {diff:+.1f} us, "
        f"{(with_ / without - 1) * 100:+.1f} %)."
    )
    parity = ", ".join(
        f"{label}: max |diff| {sides[label][2]['max_abs_diff']:.2e}, labels {sides[label][2]['label_agreement']:.2%}"
        for label in ("with derived", "without derived")
    )
    m = C.machine(sys.executable)
    section = "\n".join(
        [
            HEADING,
            "",
            f"Command: `PYTHONPATH=src python benchmarks/bench_derived.py --rounds {args.rounds} --calls {args.calls}`"
            f" (revision {C.git_revision()}).",
            f"Machine: {m['cpu']}, {m['cores']}, {m['ram']}; {m['os']}; {m['python']}.",
            f"Versions: {C.versions(sys.executable, ['onnxruntime', 'skl2onnx', 'scikit-learn', 'numpy'])}.",
            f"Load: {load}; load average at the end {C.load_average()}.",
            f"Parity on the test split before timing: {parity}.",
            "",
            "```",
            table,
            "```",
            "",
            verdict,
            "",
        ]
    )
    return section, passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    try:
        sides = build()
    except C.Precondition as problem:
        print(f"precondition: {problem}", file=sys.stderr)
        return 2
    meter = C.OtherLoad().start()
    times = measure(sides, args.rounds, args.calls)
    section, passed = report(times, sides, args, f"other processes used {meter.describe()}")
    print(section)
    if args.write_results:
        C.write_section(HEADING, section)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
