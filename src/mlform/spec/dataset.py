"""Dataset: a file tracked by DVC, its column schema, cleaning, quality checks and train/test
split."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlform.spec.base import Document, Fraction, RelPath, StrictModel
from mlform.spec.cleaning import Cleaning

DType = Literal["int", "float", "bool", "string", "category", "datetime"]
NUMERIC_DTYPES = ("int", "float", "bool")
CATEGORICAL_DTYPES = ("string", "category")


class Source(StrictModel):
    path: RelPath
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="Taken from the file extension when not given."
    )
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","


class Column(StrictModel):
    dtype: DType
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str | int | float | bool] | None = Field(default=None, min_length=1)
    regex: str | None = None
    unique: bool = False
    description: str = ""

    @model_validator(mode="after")
    def _bounds(self) -> Column:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class Duplicates(StrictModel):
    subset: list[str] | None = Field(default=None, min_length=1)
    max_fraction: Fraction = 0.0


class Rows(StrictModel):
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Rows:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Checks(StrictModel):
    duplicates: Duplicates | None = None
    max_missing_fraction: Fraction | None = None
    rows: Rows | None = None


class Split(StrictModel):
    method: Literal["random", "stratified", "time"] = "random"
    test_size: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.2
    time_column: str | None = None
    seed: int | None = Field(default=None, description="Defaults to the Project's seed.")

    @model_validator(mode="after")
    def _time_column(self) -> Split:
        if self.method == "time" and self.time_column is None:
            raise ValueError("a split by time needs 'time_column'")
        if self.method != "time" and self.time_column is not None:
            raise ValueError(
                f"'time_column' is only used with method: time (method is {self.method})"
            )
        return self


class DatasetSpec(StrictModel):
    source: Source
    target: Annotated[str, Field(min_length=1)]
    columns: Annotated[dict[str, Column], Field(min_length=1)]
    cleaning: Cleaning | None = Field(
        default=None,
        description="Rules that clean the data (their own pipeline stage) before the checks run.",
    )
    checks: Checks = Checks.model_construct()
    split: Split = Split.model_construct()


class Dataset(Document):
    """A tabular dataset with its schema, quality checks and split."""

    kind: Literal["Dataset"]
    spec: DatasetSpec
