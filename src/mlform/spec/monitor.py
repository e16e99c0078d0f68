"""Monitor: drift, performance, latency and error-rate objectives of a Deployment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mlform.catalog.metrics import MetricName
from mlform.spec.base import Bounds, Document, Duration, Ref, RelPath, StrictModel
from mlform.spec.cron import Cron

DriftMethod = Literal["psi", "ks", "chi2", "jensen-shannon", "wasserstein"]
AlertKind = Literal["data_drift", "prediction_drift", "performance", "latency", "error_rate"]


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
    latency: Latency | None = None
    error_rate: ErrorRate | None = None
    alerts: Alerts = Alerts.model_construct()
    rules_dir: RelPath | None = Field(default=None, description="Defaults to the Project's.")


class Monitor(Document):
    """What to watch on a Deployment and when to alert."""

    kind: Literal["Monitor"]
    spec: MonitorSpec
