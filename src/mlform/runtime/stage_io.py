"""What the stages share: params.yaml's flag for experiments, parquet files read and
written atomically, a split's model frame, the trained pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlform import stage_params as P
from mlform.runtime.context import StageContext

# Set by `mlform experiments run`: a failed review is recorded, not fatal, so the
# experiment's metrics survive; registration still refuses a failed review.
REPORT_ONLY = "MLFORM_REVIEW_REPORT_ONLY"


def read_parquet(path: Path) -> Any:
    import pyarrow.parquet as pq

    # ParquetFile skips pyarrow.dataset, which pandas.read_parquet imports (~0.1 s).
    return pq.ParquetFile(path).read().to_pandas()


def write_parquet(path: Path, frame: Any) -> None:
    from mlform.runtime.outputs import write_with

    write_with(path, lambda temp: frame.to_parquet(temp, index=False))


def xy(ctx: StageContext, training: P.TrainingParams, which: str) -> tuple[Any, Any, Any]:
    from mlform.runtime.frames import dtypes, model_frame

    dataset = ctx.dataset(training.dataset)
    paths = ctx.dataset_paths(training.dataset)
    frame = read_parquet(ctx.path(paths.train if which == "train" else paths.test))
    target = dataset.target
    X = model_frame(frame, dtypes(dataset), ctx.inputs(training))
    return frame, X, frame[target]


def load_pipeline(ctx: StageContext, name: str) -> Any:
    import joblib

    return joblib.load(ctx.path(ctx.training_paths(name).pipeline))
