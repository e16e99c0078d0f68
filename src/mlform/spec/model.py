"""Model: what a Training produces, how it is exported, the gates it must pass, its versions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlform.catalog.metrics import MetricName
from mlform.spec.base import Bounds, Document, Fraction, Name, Ref, StrictModel

FairnessMetric = Literal[
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
]


class Parity(StrictModel):
    max_abs_diff: Annotated[float, Field(ge=0)] = Field(
        default=1e-4, description="Largest allowed |ONNX − scikit-learn| probability/prediction."
    )
    min_label_agreement: Fraction = Field(
        default=0.999, description="Share of test rows whose ONNX label equals scikit-learn's."
    )


class Export(StrictModel):
    format: Literal["onnx"] = "onnx"
    opset: Annotated[int, Field(ge=9, le=22)] | None = Field(
        default=None, description="Defaults to the Project's onnx_opset."
    )
    parity: Parity = Parity.model_construct()


class NoRegression(StrictModel):
    stage: Name = Field(default="production", description="Compare against this stage's version.")
    metric: MetricName | None = Field(default=None, description="Defaults to the Training's first.")
    tolerance: Annotated[float, Field(ge=0)] = 0.0


class Fairness(StrictModel):
    sensitive_features: Annotated[list[str], Field(min_length=1)]
    metric: FairnessMetric = "demographic_parity_difference"
    max: float | None = Field(default=None, description="Bound for *_difference metrics.")
    min: float | None = Field(default=None, description="Bound for *_ratio metrics.")
    min_group_size: Annotated[int, Field(ge=1)] = 30


class Interpretability(StrictModel):
    permutation_importance: bool = True
    n_repeats: Annotated[int, Field(ge=1, le=100)] = 5
    top_k: Annotated[int, Field(ge=1)] = 10


class Security(StrictModel):
    max_size_mb: Annotated[float, Field(gt=0)] = 100.0
    onnx_only: Literal[True] = Field(
        default=True, description="Only the ONNX file is served; pickles never are."
    )


class Gates(StrictModel):
    metrics: dict[MetricName, Bounds] = Field(
        default={}, description="Bounds on test-split metrics, e.g. roc_auc: {min: 0.75}."
    )
    no_regression: NoRegression | None = None
    fairness: Fairness | None = None
    interpretability: Interpretability | None = Interpretability.model_construct()
    security: Security = Security.model_construct()


class Registry(StrictModel):
    bump: Literal["auto", "major", "minor", "patch"] = Field(
        default="auto",
        description="auto: major when the input signature changes, minor when the training "
        "changes, patch when only the data does.",
    )
    stages: Annotated[list[Name], Field(min_length=1)] = ["staging", "production"]
    initial_version: Annotated[
        str, Field(pattern=r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
    ] = "0.1.0"


class Card(StrictModel):
    intended_use: str = ""
    limitations: list[str] = []
    ethical_considerations: list[str] = []


class ModelSpec(StrictModel):
    training: Ref
    export: Export = Export.model_construct()
    gates: Gates = Gates.model_construct()
    registry: Registry = Registry.model_construct()
    card: Card = Card.model_construct()


class Model(Document):
    """A registered model: export, review gates and versioning."""

    kind: Literal["Model"]
    spec: ModelSpec
