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


PIPELINE_SHA256 = "pipeline_sha256"  # the key of tuning.json that records the digest


def load_pipeline(ctx: StageContext, name: str) -> Any:
    """The trained pipeline, unpickled only once its sha256 is the one the train stage
    recorded in tuning.json: a pickle runs code as it loads, and pipeline.joblib comes
    from DVC's cache or remote, which tuning.json (kept in git, not in the cache) does not.
    """
    import joblib

    paths = ctx.training_paths(name)
    pipeline, record = ctx.path(paths.pipeline), ctx.path(paths.tuning)
    verify_pipeline(pipeline, record, paths.pipeline.as_posix(), paths.tuning.as_posix(), name)
    return joblib.load(pipeline)


def verify_pipeline(path: Path, record: Path, shown: str, shown_record: str, name: str) -> None:
    """A UserError unless ``path``'s sha256 is the one ``record`` holds."""
    import json

    from mlform.errors import UserError
    from mlform.runtime.export import sha256_file

    retrain = f"retrain with `dvc repro --force train-{name}`"
    try:
        expected = json.loads(record.read_text(encoding="utf-8")).get(PIPELINE_SHA256)
    except (OSError, ValueError, AttributeError):
        expected = None
    if not isinstance(expected, str):
        raise UserError(
            f"{shown_record} records no sha256 of {shown} (trained by an older mlform, or "
            f"not trained here), so it is not loaded; {retrain}"
        )
    if not path.is_file():
        raise UserError(f"{shown} does not exist; run `dvc repro train-{name}`")
    actual = sha256_file(path)
    if actual != expected:
        raise UserError(
            f"{shown} has sha256 {actual}, not {expected} as recorded at training in "
            f"{shown_record}: the file changed after training (a tampered DVC cache or "
            f"remote?) and is not loaded; {retrain}"
        )
