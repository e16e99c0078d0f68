"""Training: a dataset, a feature set and an estimator, optionally tuned."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema, model_validator

from mlform.catalog import estimators
from mlform.catalog.metrics import MetricName
from mlform.spec.base import Document, Ref, StrictModel

ParamScalar = str | int | float | bool | None
ParamValue = ParamScalar | list[ParamScalar] | dict[str, ParamScalar]

EstimatorName = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "enum": estimators.references(),
            "description": "A scikit-learn estimator that skl2onnx converts.",
        }
    ),
]


class Estimator(StrictModel):
    class_: EstimatorName = Field(alias="class")
    params: dict[str, ParamValue] = {}


class Distribution(StrictModel):
    """A range to sample from in random or halving search."""

    low: float
    high: float
    log: bool = False
    type: Literal["float", "int"] = "float"

    @model_validator(mode="after")
    def _range(self) -> Distribution:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


SpaceValue = Annotated[list[ParamValue], Field(min_length=1)] | Distribution


class Budget(StrictModel):
    n_iter: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="random: candidates sampled (default 10); grid: the most candidates a grid "
        "may have; halving: candidates in the first round.",
    )
    factor: Annotated[int, Field(ge=2)] = Field(
        default=3, description="halving: the cut per round."
    )
    n_jobs: Annotated[int, Field(ge=1)] = 1


class Tuning(StrictModel):
    strategy: Literal["grid", "random", "halving"]
    space: Annotated[dict[str, SpaceValue], Field(min_length=1)]
    cv: Annotated[int, Field(ge=2, le=50)] = 5
    scoring: MetricName | None = Field(
        default=None, description="Defaults to the first of `metrics`."
    )
    budget: Budget = Budget.model_construct()


class TrainingSpec(StrictModel):
    dataset: Ref | None = Field(default=None, description="Defaults to the feature set's dataset.")
    features: Ref
    estimator: Estimator
    tuning: Tuning | None = None
    metrics: list[MetricName] | None = Field(
        default=None, min_length=1, description="Defaults to every metric of the task."
    )
    seed: int | None = Field(default=None, description="Defaults to the Project's seed.")


class Training(Document):
    """How a model is trained and tuned."""

    kind: Literal["Training"]
    spec: TrainingSpec
