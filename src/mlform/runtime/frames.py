"""Reading a dataset into typed columns, remembering every value that failed its dtype, and
shaping the model's input frame exactly as the ONNX model will receive it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mlform.errors import UserError
from mlform.stage_params import DatasetParams, FeatureSetParams

if TYPE_CHECKING:
    import pandas as pd

TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}
NUMERIC = ("int", "float", "bool")


@dataclass
class TypedFrame:
    frame: pd.DataFrame  # declared columns, typed; undeclared columns kept as read
    invalid: dict[str, pd.Series]  # column → mask of values that are not of the dtype
    raw: pd.DataFrame  # the values as read, for report examples
    row_base: int = 2  # the number a person sees for row 0: CSV line 2 (after the header)


def read_source(root: Path, params: DatasetParams) -> TypedFrame:
    """Read the dataset's source file and type its declared columns."""
    import pandas as pd

    source = params.source
    path = root / source.path
    try:
        if source.format == "parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], sep=source.delimiter
            )
    except FileNotFoundError:
        raise UserError(
            f"{source.path} does not exist; run `dvc pull` or fix spec.source.path"
        ) from None
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot read {source.path} as {source.format}: {exc}") from None
    return typed(raw, params)


def read_data(root: Path, params: DatasetParams, cleaned: PurePosixPath) -> TypedFrame:
    """What the checks, the profile and the split read: the rows the cleaning stage kept
    (``cleaned``, with the source's row numbers) when the Dataset declares cleaning, else
    the source itself."""
    if params.cleaning is None:
        return read_source(root, params)
    from mlform.runtime.stage_io import read_parquet

    try:
        raw = read_parquet(root / cleaned)
    except FileNotFoundError:
        raise UserError(
            f"{cleaned} does not exist; the cleaning stage writes it (`dvc repro`)"
        ) from None
    return typed(raw, params)


def typed(raw: pd.DataFrame, params: DatasetParams) -> TypedFrame:
    """``raw`` (values as read) with its declared columns typed."""
    frame = raw.copy()
    invalid: dict[str, pd.Series] = {}
    for name, column in params.columns.items():
        if name in raw.columns:
            frame[name], invalid[name] = convert(raw[name], column.dtype)
    return TypedFrame(frame, invalid, raw, 2 if params.source.format == "csv" else 1)


def convert(values: pd.Series, dtype: str) -> tuple[pd.Series, pd.Series]:
    """(typed values, mask of present values that are not valid for ``dtype``)."""
    import numpy as np
    import pandas as pd

    present = values.notna()
    if dtype in ("int", "float"):
        typed = pd.to_numeric(values, errors="coerce")
        bad = present & typed.isna()
        if dtype == "int":
            bad |= typed.notna() & (typed % 1 != 0)
            typed = typed.where(~bad)
            typed = typed.astype("int64") if typed.notna().all() else typed.astype("float64")
        return typed.astype("float64") if dtype == "float" else typed, bad
    if dtype == "bool":
        text = values.astype(str).str.strip().str.lower()
        typed = pd.Series(
            np.where(text.isin(TRUE), 1.0, np.where(text.isin(FALSE), 0.0, np.nan)),
            index=values.index,
        )
        return typed, present & typed.isna()
    if dtype == "datetime":
        typed = pd.to_datetime(values, errors="coerce", format="ISO8601")
        return typed, present & typed.isna()
    return values.where(present, None).astype(object), present & False


def model_frame(frame: pd.DataFrame, columns: Mapping[str, str], inputs: list[str]) -> pd.DataFrame:
    """The model's input columns as the ONNX model takes them: numbers as float64 (the ONNX
    graph computes features in double, exactly as scikit-learn does, then casts them to
    float32 for the estimator), datetimes as float64 seconds since the epoch, categories
    as strings with '' for missing. ``columns``: each column's dtype."""
    import numpy as np
    import pandas as pd

    out = {}
    for name in inputs:
        if columns[name] == "datetime":  # seconds since 1970-01-01 UTC (docs/spec.md)
            out[name] = epoch_seconds(frame[name])
        elif columns[name] in NUMERIC:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
        else:
            out[name] = frame[name].astype(object).where(frame[name].notna(), "").astype(str)
    return pd.DataFrame(out, index=frame.index)


def epoch_seconds(values: pd.Series) -> pd.Series:
    """A datetime column as seconds since 1970-01-01 UTC in float64, NaN where missing:
    how a date reaches the ONNX model. Naive times are taken as UTC; others are
    converted to it."""
    import numpy as np
    import pandas as pd

    times = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    seconds = (times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return seconds.astype(np.float64)


def dtypes(dataset: DatasetParams) -> dict[str, str]:
    return {name: column.dtype for name, column in dataset.columns.items()}


def model_inputs(featureset: FeatureSetParams, dataset: DatasetParams) -> list[str]:
    """Dataset columns the pipeline takes as input, in schema order (see checks.data)."""
    from mlform.expressions import dataset_columns

    used = {c for t in featureset.transforms if not t.drop for c in t.columns}
    dropped = {c for t in featureset.transforms if t.drop for c in t.columns}
    read = dataset_columns(featureset.derived or {})  # dropped or not: derived features need them
    names = []
    for column in dataset.columns:
        if column == dataset.target:
            continue
        if column in read or (
            column not in dropped and (column in used or featureset.remainder == "passthrough")
        ):
            names.append(column)
    return names
