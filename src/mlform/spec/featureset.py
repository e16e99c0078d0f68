"""FeatureSet: declarative column transforms that compile to a scikit-learn ColumnTransformer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mlform.spec.base import Document, Ref, StrictModel, exactly_one_key, one_key_json_schema

Number = int | float


class Impute(StrictModel):
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "median"
    fill_value: str | Number | None = None


class Scale(StrictModel):
    method: Literal["standard", "minmax", "robust", "maxabs"] = "standard"


class OneHot(StrictModel):
    handle_unknown: Literal["ignore", "error", "infrequent_if_exist"] = "ignore"
    min_frequency: Annotated[Number, Field(gt=0)] | None = None
    max_categories: Annotated[int, Field(ge=2)] | None = None
    drop: Literal["first", "if_binary"] | None = None


class Ordinal(StrictModel):
    categories: dict[str, list[str | Number]] | None = Field(
        default=None, description="Category order per column; learned from data when absent."
    )
    handle_unknown: Literal["error", "use_encoded_value"] = "use_encoded_value"
    unknown_value: Number = -1


class Bin(StrictModel):
    n_bins: Annotated[int, Field(ge=2, le=1000)] = 5
    strategy: Literal["uniform", "quantile", "kmeans"] = "quantile"
    encode: Literal["ordinal", "onehot-dense"] = "ordinal"


class Clip(StrictModel):
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Clip:
        if self.min is None and self.max is None:
            raise ValueError("clip needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class Log(StrictModel):
    offset: Annotated[float, Field(ge=0)] = Field(
        default=1.0, description="log(x + offset); the default 1 is log1p."
    )


class Polynomial(StrictModel):
    degree: Annotated[int, Field(ge=2, le=5)] = 2
    interaction_only: bool = False
    include_bias: bool = False


STEP_KINDS = ("impute", "scale", "onehot", "ordinal", "bin", "clip", "log", "polynomial")


class Step(StrictModel):
    """One transform step; write exactly one key, e.g. `- impute: {strategy: median}` or `- scale`."""

    impute: Impute | None = None
    scale: Scale | None = None
    onehot: OneHot | None = None
    ordinal: Ordinal | None = None
    bin: Bin | None = None
    clip: Clip | None = None
    log: Log | None = None
    polynomial: Polynomial | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return one_key_json_schema(core_schema, handler, STEP_KINDS, bare=True)

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        return exactly_one_key(data, STEP_KINDS, "step")

    @property
    def kind(self) -> str:
        return next(k for k in STEP_KINDS if getattr(self, k) is not None)

    @property
    def options(self) -> StrictModel:
        value: StrictModel = getattr(self, self.kind)
        return value


class Transform(StrictModel):
    columns: Annotated[list[str], Field(min_length=1)]
    steps: list[Step] = []
    drop: bool = False

    @model_validator(mode="after")
    def _drop_or_steps(self) -> Transform:
        if self.drop and self.steps:
            raise ValueError("a transform either drops its columns or has steps, not both")
        return self


DerivedName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class FeatureSetSpec(StrictModel):
    dataset: Ref
    derived: dict[DerivedName, str] = Field(
        default_factory=dict,
        description="New features computed from the dataset's columns, by name, in order: "
        "`debt_to_income: loan_amount / income`. Arithmetic, comparisons, and/or/not, "
        "where, clip, log, abs, floor, date parts and days_between; a column name with "
        "spaces goes in backticks. Transforms may name them like columns. See docs/spec.md.",
    )
    transforms: Annotated[list[Transform], Field(min_length=1)]
    remainder: Literal["drop", "passthrough"] = Field(
        default="drop", description="What happens to dataset columns no transform names."
    )


class FeatureSet(Document):
    """Feature engineering as a list of column transforms."""

    kind: Literal["FeatureSet"]
    spec: FeatureSetSpec
