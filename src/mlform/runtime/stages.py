"""Entry point of `mlform stage STEP NAME`, the commands in the generated dvc.yaml.

Each step reads params.yaml and its input files, and writes its outputs atomically. A
failure is printed as diagnostics located in the specs (file:line:column of the field to
fix) and exits 1; nothing is half-written.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import click

from mlform.runtime import model_stages
from mlform.runtime.context import StageContext
from mlform.runtime.errors import StageFailed
from mlform.runtime.stage_io import REPORT_ONLY, write_parquet, xy

__all__ = ["REPORT_ONLY", "run_stage"]


def run_stage(step: str, name: str, params_file: Path) -> int:
    # One thread per fit, whatever the machine says: the same specs and data must give the
    # same bytes everywhere (OpenMP reductions sum in thread order), on small data it is as
    # fast, and on a busy machine spinning OpenMP threads can make a fit 100x slower.
    # Parallelism across candidates is the Training's tuning.budget.n_jobs (processes).
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    ctx = StageContext.load(params_file)
    steps: dict[str, Callable[[StageContext, str], str]] = {
        "clean": clean,
        "check": check,
        "profile": profile,
        "split": split,
        "train": train,
        "evaluate": evaluate,
        "export": model_stages.export,
        "review": model_stages.review,
    }
    from mlform.runtime.outputs import remove_partials

    remove_partials(ctx.path(ctx.layout.artifacts))
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        summary = steps[step](ctx, name)
    except StageFailed as failure:
        from mlform.diagnostics import styled
        from mlform.runtime.locate import locate

        for p in failure.problems:
            click.echo(
                styled(locate(ctx.root, p.code, p.kind, p.name, p.loc, p.message), click.style)
            )
        click.echo(
            click.style(
                f"Stage {step} {name} failed; nothing downstream runs.", fg="red", bold=True
            ),
            err=True,
        )
        return 1
    click.echo(summary)
    return 0


# --- data --------------------------------------------------------------------------------
def clean(ctx: StageContext, name: str) -> str:
    from mlform.runtime import cleaning
    from mlform.runtime.frames import read_source
    from mlform.runtime.outputs import write_json, write_with

    params = ctx.dataset(name)
    if params.cleaning is None:
        raise StageFailed(
            "E302", "Dataset", name, ("spec",), "Dataset declares no cleaning; run `mlform compile`"
        )
    cleaned = cleaning.clean(read_source(ctx.root, params), params, name)
    paths = ctx.dataset_paths(name)
    write_json(ctx.path(paths.cleaning), cleaning.metrics(cleaned, params))
    write_json(ctx.path(paths.cleaning_report), cleaning.report(cleaned, params, name))
    cleaning.check_bound(cleaned, params, name)
    # The index is the source's row positions: the checks' messages name the source's rows.
    raw = cleaned.data.raw
    write_with(ctx.path(paths.cleaned), lambda temp: raw.to_parquet(temp, index=True))
    clipped = sum(r.clipped for r in cleaned.results)
    return (
        f"Dataset '{name}': cleaning kept {len(raw):,} of {cleaned.rows_before:,} rows "
        f"(removed {cleaned.removed:,}, {cleaned.removed_fraction:.2%}; clipped {clipped:,} values)."
    )


def check(ctx: StageContext, name: str) -> str:
    from mlform.runtime.datachecks import check_dataset
    from mlform.runtime.errors import Problem
    from mlform.runtime.frames import read_data
    from mlform.runtime.outputs import write_json

    params = ctx.dataset(name)
    data = read_data(ctx.root, params, ctx.dataset_paths(name).cleaned)
    results = check_dataset(data, params)
    failed = [r for r in results if not r.passed]
    write_json(
        ctx.path(ctx.dataset_paths(name).checks),
        {
            "dataset": name,
            "source": params.source.path,
            "rows": len(data.frame),
            "passed": not failed,
            "checks_passed": len(results) - len(failed),
            "checks_failed": len(failed),
            "checks": [r.to_json() for r in results],
        },
    )
    if failed:
        raise StageFailed.of([Problem("E301", "Dataset", name, r.loc, r.message) for r in failed])
    return f"Dataset '{name}': {len(results)} checks passed on {len(data.frame):,} rows."


def profile(ctx: StageContext, name: str) -> str:
    from mlform.render import render
    from mlform.runtime import svg
    from mlform.runtime.frames import read_data
    from mlform.runtime.outputs import write_json, write_text
    from mlform.runtime.profile import profile as build

    params = ctx.dataset(name)
    data = read_data(ctx.root, params, ctx.dataset_paths(name).cleaned)
    result = build(data.frame, params, name)
    paths = ctx.dataset_paths(name)
    write_json(ctx.path(paths.profile), result)
    charts = {}
    for column, stats in result["columns"].items():
        if stats["kind"] == "numeric" and stats.get("histogram"):
            charts[column] = svg.histogram(
                stats["histogram"]["edges"], stats["histogram"]["counts"]
            )
        elif stats["kind"] == "categorical":
            charts[column] = svg.bars(
                [t["value"] for t in stats["top"]], [t["count"] for t in stats["top"]]
            )
    write_text(
        ctx.path(paths.profile_html),
        render(
            "reports/profile.html.j2",
            profile=result,
            charts=charts,
            source=params.source.path,
        ),
    )
    return (
        f"Dataset '{name}': profiled {len(result['columns'])} columns of {result['rows']:,} rows."
    )


def split(ctx: StageContext, name: str) -> str:
    from mlform.runtime.frames import read_data
    from mlform.runtime.split import split as cut

    params = ctx.dataset(name)
    declared = list(params.columns)
    frame = read_data(ctx.root, params, ctx.dataset_paths(name).cleaned).frame[declared]
    train_frame, test_frame = cut(frame, params, name)
    paths = ctx.dataset_paths(name)
    write_parquet(ctx.path(paths.train), train_frame)
    write_parquet(ctx.path(paths.test), test_frame)
    return f"Dataset '{name}': {len(train_frame):,} training and {len(test_frame):,} test rows ({params.split.method} split)."


# --- training ----------------------------------------------------------------------------
def train(ctx: StageContext, name: str) -> str:
    import joblib

    from mlform.runtime.evaluate import predict, save
    from mlform.runtime.export import sha256_file
    from mlform.runtime.outputs import write_json, write_with
    from mlform.runtime.stage_io import PIPELINE_SHA256
    from mlform.runtime.train import build_pipeline, fit

    training = ctx.training(name)
    _, X, y = xy(ctx, training, "train")
    if training.task == "classification" and y.nunique() < 2:
        dataset = training.dataset
        only = y.iloc[0] if len(y) else "none"
        raise StageFailed(
            "E303",
            "Dataset",
            dataset,
            ("spec", "target"),
            f"target '{y.name}' has a single class ({only}) in the training split; a classifier needs at least two",
        )
    pipeline = build_pipeline(
        training,
        ctx.featureset(training.features),
        ctx.dataset(training.dataset),
        ctx.inputs(training),
        name,
    )
    fitted, summary = fit(pipeline, X, y, training, name)
    paths = ctx.training_paths(name)
    write_with(ctx.path(paths.pipeline), lambda temp: joblib.dump(fitted, temp, compress=3))
    # What every later load checks the pickle against (see stage_io.load_pipeline).
    summary[PIPELINE_SHA256] = sha256_file(ctx.path(paths.pipeline))
    write_json(ctx.path(paths.tuning), summary)
    # Predictions on the test split, so evaluation needs neither the model nor scikit-learn.
    _, X_test, y_test = xy(ctx, training, "test")
    save(ctx.path(paths.predictions), predict(fitted, X_test, y_test, training.task))
    score = (
        f", best CV {summary['scoring']} {summary['best_score']:.4f} of {summary['candidates']} candidates"
        if summary["strategy"] != "none"
        else ""
    )
    return f"Training '{name}': fitted {training.estimator.rsplit('.', 1)[-1]} on {len(X):,} rows{score}."


def evaluate(ctx: StageContext, name: str) -> str:
    from mlform.runtime.evaluate import load, metrics, plots
    from mlform.runtime.outputs import write_json

    training = ctx.training(name)
    paths = ctx.training_paths(name)
    predictions = load(ctx.path(paths.predictions))
    values = metrics(predictions, training.metrics)
    write_json(ctx.path(paths.metrics), values)
    for file, rows in plots(predictions).items():
        write_json(ctx.path(paths.plots / file), rows)
    shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
    return f"Training '{name}' on {len(predictions.y_true):,} test rows: {shown}."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_stage(sys.argv[1], sys.argv[2], Path("params.yaml")))
