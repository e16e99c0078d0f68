"""The stage contract: ``params.yaml`` as typed values, written by the compiler
(``targets.dvc``) and read by every pipeline stage (``runtime``).

The fields mirror the specs they are resolved from (defaults applied, references followed:
a Training's dataset, its scorer, a Model's opset). Both sides build and read these classes,
so a renamed field fails mypy, not a training run. They are plain dataclasses: a stage
process does not pay for building pydantic models. ``to_data`` gives the YAML's content,
``read`` types it back with located errors (``dvc exp run -S`` edits params.yaml too).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from mlform import typed_data

T = TypeVar("T")
STALE = "is params.yaml stale? Run `mlform compile`"
Scalar = str | int | float | bool | None
Number = int | float


# --- Dataset -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    path: str
    format: Literal["csv", "parquet"]
    delimiter: str = ","


@dataclass(frozen=True)
class Column:
    dtype: Literal["int", "float", "bool", "string", "category", "datetime"]
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    allowed: list[str | int | float | bool] | None = None
    regex: str | None = None
    unique: bool = False


@dataclass(frozen=True)
class Duplicates:
    subset: list[str] | None = None
    max_fraction: float = 0.0


@dataclass(frozen=True)
class Rows:
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class Checks:
    duplicates: Duplicates | None = None
    max_missing_fraction: float | None = None
    rows: Rows | None = None


@dataclass(frozen=True)
class DropDuplicates:
    subset: list[str] | None = None  # None: every declared column


@dataclass(frozen=True)
class DropMissingTarget:
    pass


@dataclass(frozen=True)
class OutsideSchema:
    action: Literal["drop", "clip"]
    columns: list[str]  # resolved: the spec's, else every declared column (clip: bounded ones)
    constraints: list[str]  # resolved: the spec's, else all (clip: min and max)


@dataclass(frozen=True)
class DropWhere:
    condition: str
    description: str = ""


@dataclass(frozen=True)
class Rule:
    """Exactly one of the fields is set: ``{drop_duplicates: {subset: [id]}}``."""

    drop_duplicates: DropDuplicates | None = None
    drop_missing_target: DropMissingTarget | None = None
    outside_schema: OutsideSchema | None = None
    drop_where: DropWhere | None = None

    @property
    def kind(self) -> str:
        return next(f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None)


@dataclass(frozen=True)
class Cleaning:
    rules: list[Rule]
    max_removed_fraction: float


@dataclass(frozen=True)
class Split:
    method: Literal["random", "stratified", "time"]
    test_size: float
    seed: int
    time_column: str | None = None


@dataclass(frozen=True)
class DatasetParams:
    source: Source
    target: str
    columns: dict[str, Column]
    checks: Checks
    split: Split
    cleaning: Cleaning | None = None  # None: the checks read the source itself


# --- FeatureSet --------------------------------------------------------------------------
@dataclass(frozen=True)
class Impute:
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "median"
    fill_value: str | int | float | None = None


@dataclass(frozen=True)
class Scale:
    method: Literal["standard", "minmax", "robust", "maxabs"] = "standard"


@dataclass(frozen=True)
class OneHot:
    handle_unknown: Literal["ignore", "error", "infrequent_if_exist"] = "ignore"
    min_frequency: int | float | None = None
    max_categories: int | None = None
    drop: Literal["first", "if_binary"] | None = None


@dataclass(frozen=True)
class Ordinal:
    categories: dict[str, list[str | int | float]] | None = None
    handle_unknown: Literal["error", "use_encoded_value"] = "use_encoded_value"
    unknown_value: int | float = -1


@dataclass(frozen=True)
class Bin:
    n_bins: int = 5
    strategy: Literal["uniform", "quantile", "kmeans"] = "quantile"
    encode: Literal["ordinal", "onehot-dense"] = "ordinal"


@dataclass(frozen=True)
class Clip:
    min: int | float | None = None
    max: int | float | None = None


@dataclass(frozen=True)
class Log:
    offset: float = 1.0


@dataclass(frozen=True)
class Polynomial:
    degree: int = 2
    interaction_only: bool = False
    include_bias: bool = False


Options = Impute | Scale | OneHot | Ordinal | Bin | Clip | Log | Polynomial


@dataclass(frozen=True)
class Step:
    """Exactly one of the fields is set: ``{impute: {strategy: median}}``."""

    impute: Impute | None = None
    scale: Scale | None = None
    onehot: OneHot | None = None
    ordinal: Ordinal | None = None
    bin: Bin | None = None
    clip: Clip | None = None
    log: Log | None = None
    polynomial: Polynomial | None = None

    @property
    def kind(self) -> str:
        return next(f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None)

    @property
    def options(self) -> Options:
        value: Options = getattr(self, self.kind)
        return value


@dataclass(frozen=True)
class Transform:
    columns: list[str]
    drop: bool | None = None  # True, or None with steps
    steps: list[Step] | None = None


@dataclass(frozen=True)
class FeatureSetParams:
    dataset: str
    remainder: Literal["drop", "passthrough"]
    transforms: list[Transform]
    derived: dict[str, str] | None = None  # name → expression, in order; None: none


# --- Training ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Distribution:
    low: float
    high: float
    log: bool = False
    type: Literal["float", "int"] = "float"


@dataclass(frozen=True)
class Budget:
    n_iter: int | None = None
    factor: int = 3
    n_jobs: int = 1


@dataclass(frozen=True)
class Tuning:
    strategy: Literal["grid", "random", "halving"]
    space: dict[str, list[Any] | Distribution]
    cv: int
    scoring: str  # the metric, resolved: the Training's first when the spec names none
    budget: Budget
    scorer: str  # scikit-learn's scorer name of ``scoring``


@dataclass(frozen=True)
class TrainingParams:
    dataset: str
    features: str
    task: Literal["classification", "regression"]
    estimator: str  # the import path, e.g. sklearn.ensemble.HistGradientBoostingClassifier
    params: dict[str, Any]
    metrics: list[str]
    seed: int
    tuning: Tuning | None = field(default=None, metadata={"null": True})  # written as null


# --- Model -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Parity:
    max_abs_diff: float = 1e-4
    min_label_agreement: float = 0.999


@dataclass(frozen=True)
class Export:
    opset: int
    format: Literal["onnx"] = "onnx"
    parity: Parity = Parity()


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class NoRegression:
    metric: str  # resolved: the Training's first metric when the spec names none
    stage: str = "production"
    tolerance: float = 0.0


@dataclass(frozen=True)
class Fairness:
    sensitive_features: list[str]
    metric: str = "demographic_parity_difference"
    max: float | None = None
    min: float | None = None
    min_group_size: int = 30


@dataclass(frozen=True)
class Interpretability:
    permutation_importance: bool = True
    n_repeats: int = 5
    top_k: int = 10


@dataclass(frozen=True)
class Security:
    max_size_mb: float = 100.0
    onnx_only: bool = True


@dataclass(frozen=True)
class Gates:
    metrics: dict[str, Bounds] = field(default_factory=dict)
    no_regression: NoRegression | None = None
    fairness: Fairness | None = None
    interpretability: Interpretability | None = None
    security: Security = Security()


@dataclass(frozen=True)
class Card:
    intended_use: str = ""
    limitations: list[str] = field(default_factory=list)
    ethical_considerations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelParams:
    training: str
    export: Export
    gates: Gates
    card: Card


@dataclass(frozen=True)
class Location:
    """Where an environment's own pipeline is (pipelines/<env>/params.yaml)."""

    root: str  # the project root, relative to the folder of this params file
    artifacts: str  # where its stages write, relative to the root


@dataclass(frozen=True)
class PipelineParams:
    dataset: dict[str, DatasetParams]
    featureset: dict[str, FeatureSetParams]
    training: dict[str, TrainingParams]
    model: dict[str, ModelParams]
    location: Location | None = None  # None: the default pipeline, beside mlform.yaml


# --- writing and reading -------------------------------------------------------------------
# The order keys are written in: the fields' order, except where a class says otherwise
# (params.yaml keeps the order of the specs' own fields).
ORDER: dict[type, tuple[str, ...]] = {
    DatasetParams: ("source", "target", "columns", "cleaning", "checks", "split"),
    Split: ("method", "test_size", "time_column", "seed"),
    Transform: ("columns", "steps", "drop"),
    FeatureSetParams: ("dataset", "remainder", "derived", "transforms"),
    Tuning: ("strategy", "space", "cv", "scoring", "budget", "scorer"),
    TrainingParams: (
        "dataset",
        "features",
        "task",
        "estimator",
        "params",
        "tuning",
        "metrics",
        "seed",
    ),
    Export: ("format", "opset", "parity"),
    NoRegression: ("stage", "metric", "tolerance"),
}


def to_data(value: Any) -> Any:
    """Plain data for params.yaml: dataclasses as mappings without their None fields."""
    return typed_data.to_data(value, ORDER)


def read(data: Any, cls: type[T], where: str = "params.yaml", at: str = "") -> T:
    """``data`` (params.yaml's content, or its section at key path ``at``) typed as
    ``cls``; a UserError at the first value that does not fit, located by its key path."""
    return typed_data.read(data, cls, where, at, STALE)


def build(data: Any, cls: type[T]) -> T:
    """Validated data (the specs' own) as ``cls``, unchecked: how the compiler builds them."""
    return typed_data.build(data, cls)
