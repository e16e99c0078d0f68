"""Monitor: drift, performance, fairness, data quality, latency and error-rate objectives of a
Deployment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlform.catalog.metrics import MetricName
from mlform.spec.base import Bounds, Document, Duration, Ref, RelPath, StrictModel
from mlform.spec.cron import Cron
from mlform.spec.model import Fairness as GateFairness
from mlform.spec.model import FairnessMetric

DriftMethod = Literal["psi", "ks", "chi2", "jensen-shannon", "wasserstein"]
AlertKind = Literal[
    "data_drift",
    "prediction_drift",
    "performance",
    "fairness",
    "data_quality",
    "latency",
    "error_rate",
]
QualityCheck = Literal[
    "type_mismatch", "null", "out_of_range", "unseen_category", "pattern_mismatch"
]
Share = Annotated[float, Field(ge=0, le=1)]


class ColumnMethods(StrictModel):
    numeric: DriftMethod | None = Field(
        default=None, description="Default: ks for ≤1000 reference rows, else wasserstein."
    )
    categorical: DriftMethod | None = Field(
        default=None, description="Default: chi2 for ≤1000 reference rows, else jensen-shannon."
    )


class FeatureDrift(StrictModel):
    method: DriftMethod | None = None
    threshold: Annotated[float, Field(ge=0)] | None = None


class DataDrift(StrictModel):
    features: list[str] | None = Field(
        default=None, min_length=1, description="Default: every model input."
    )
    methods: ColumnMethods = ColumnMethods.model_construct()
    thresholds: dict[DriftMethod, Annotated[float, Field(ge=0)]] = Field(
        default={},
        description="Per method: p-value for ks/chi2 (default 0.05), distance otherwise "
        "(psi 0.2, jensen-shannon 0.1, wasserstein 0.1).",
    )
    per_feature: dict[str, FeatureDrift] = {}
    drift_share: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.5, description="Dataset drift when at least this share of features drift."
    )


class PredictionDrift(StrictModel):
    method: DriftMethod | None = None
    threshold: Annotated[float, Field(ge=0)] | None = None


class Performance(Bounds):
    metric: MetricName
    min_labels: Annotated[int, Field(ge=1)] = 100


class Fairness(StrictModel):
    """The Model's fairness metric on labelled production traffic; every field defaults to
    the Model's fairness gate (``spec.gates.fairness``)."""

    sensitive_features: Annotated[list[str], Field(min_length=1)] | None = Field(
        default=None,
        description="Columns of the Model's Dataset: inputs come from the served request, "
        "others from the feedback's `columns`. Default: the gate's.",
    )
    metric: FairnessMetric | None = Field(default=None, description="Default: the gate's.")
    max: float | None = Field(
        default=None, description="Bound for *_difference metrics. Default: the gate's."
    )
    min: float | None = Field(
        default=None, description="Bound for *_ratio metrics. Default: the gate's."
    )
    min_group_size: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Labelled rows a group needs to count. Default: the gate's, else 30.",
    )

    def resolved(self, gate: GateFairness | None) -> GateFairness | None:
        """The definition in force: this spec's fields over the gate's (a gate's bound only
        while the metric is the gate's); None without sensitive features."""
        features = self.sensitive_features or (gate.sensitive_features if gate else None)
        if not features:
            return None
        metric = self.metric or (gate.metric if gate else "demographic_parity_difference")
        same = gate is not None and gate.metric == metric and self.min is None and self.max is None
        return GateFairness(
            sensitive_features=features,
            metric=metric,
            max=gate.max if same and gate else self.max,
            min=gate.min if same and gate else self.min,
            min_group_size=self.min_group_size or (gate.min_group_size if gate else 30),
        )


class ColumnQuality(StrictModel):
    max_share: Share


class DataQuality(StrictModel):
    """The Dataset's column schema applied to the served window."""

    columns: Annotated[list[str], Field(min_length=1)] | None = Field(
        default=None, description="Default: every model input."
    )
    max_share: Share = Field(
        default=0.01,
        description="A column fails a check when more than this share of the window's rows "
        "break it.",
    )
    thresholds: dict[QualityCheck, Share] = Field(
        default={}, description="Per check, over max_share."
    )
    per_column: dict[str, ColumnQuality] = Field(
        default={}, description="Per column, over thresholds and max_share."
    )
    max_row_share: Share = Field(
        default=0.05,
        description="Data quality fails when more than this share of rows break any check.",
    )


class Latency(StrictModel):
    p99_ms: Annotated[float, Field(gt=0)]
    p50_ms: Annotated[float, Field(gt=0)] | None = None


class ErrorRate(StrictModel):
    max: Annotated[float, Field(ge=0, le=1)]


class Alerts(StrictModel):
    severity: Literal["critical", "warning", "info"] = "warning"
    team: str | None = None
    runbook_url: str | None = None
    for_: Duration = Field(default="5m", alias="for")
    evaluation_interval: Duration = Field(
        default="30s", description="How often Prometheus evaluates the Monitor's rules."
    )
    labels: dict[Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")], str] = {}


class MonitorSpec(StrictModel):
    deployment: Ref
    schedule: Cron = "*/15 * * * *"
    window: Duration = "1h"
    min_samples: Annotated[int, Field(ge=1)] = 100
    data_drift: DataDrift | None = None
    prediction_drift: PredictionDrift | None = None
    performance: Performance | None = None
    fairness: Fairness | None = None
    data_quality: DataQuality | None = None
    latency: Latency | None = None
    error_rate: ErrorRate | None = None
    alerts: Alerts = Alerts.model_construct()
    rules_dir: RelPath | None = Field(default=None, description="Defaults to the Project's.")


class Monitor(Document):
    """What to watch on a Deployment and when to alert."""

    kind: Literal["Monitor"]
    spec: MonitorSpec
