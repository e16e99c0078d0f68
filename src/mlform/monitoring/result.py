"""What a Monitor run found, as typed values; ``to_json`` is ``result.json``'s document (what
`mlform monitor run --format json` prints, the HTML report and Prometheus metrics render,
and retraining triggers read back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.monitoring.drift import FeatureDrift


@dataclass(frozen=True)
class WindowSummary:
    source: str
    span: str | None  # how far back, when read from the server's log
    since: str | None
    rows: int
    versions: dict[str, int]
    min_samples: int
    corrupt_lines: int
    corrupt_examples: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "span": self.span,
            "since": self.since,
            "rows": self.rows,
            "versions": self.versions,
            "min_samples": self.min_samples,
            "corrupt_lines": self.corrupt_lines,
            "corrupt_examples": self.corrupt_examples,
        }


@dataclass(frozen=True)
class FeatureScore:
    """One feature's drift: the method's score against its threshold."""

    drift: FeatureDrift
    kind: str  # numeric | categorical
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {**self.drift.to_json(), "kind": self.kind, "rows": self.rows}


@dataclass(frozen=True)
class DataDrift:
    features: list[FeatureScore]
    skipped: dict[str, str]  # feature → why it was not scored
    drift_share: float  # dataset drift when at least this share of features drifted

    @property
    def drifted(self) -> list[str]:
        return [f.drift.feature for f in self.features if f.drift.drifted]

    @property
    def share(self) -> float:
        return len(self.drifted) / len(self.features) if self.features else 0.0

    @property
    def detected(self) -> bool:
        return bool(self.features) and self.share >= self.drift_share

    def to_json(self) -> dict[str, Any]:
        return {
            "features": [f.to_json() for f in self.features],
            "skipped": self.skipped,
            "drifted": self.drifted,
            "share": self.share,
            "drift_share": self.drift_share,
            "detected": self.detected,
        }


@dataclass(frozen=True)
class PredictionDrift:
    """Drift of the model's output (``of``: the positive-class probability, the predicted
    class or the value); ``skipped`` says why it was not scored."""

    drift: FeatureDrift | None = None
    of: str = ""
    skipped: str = ""

    @property
    def detected(self) -> bool:
        return self.drift is not None and self.drift.drifted

    def to_json(self) -> dict[str, Any]:
        if self.drift is None:
            return {"skipped": self.skipped}
        out = self.drift.to_json()
        out["of"] = self.of
        out["detected"] = out.pop("drifted")
        return out


@dataclass(frozen=True)
class Performance:
    metric: str
    labels: int  # labelled predictions in the window
    min_labels: int
    label_records: int
    unjoined_labels: int
    min: float | None
    max: float | None
    status: str  # ok | insufficient_labels | not_scored
    value: float | None = None

    @property
    def violated(self) -> bool:
        if self.value is None:
            return False
        return (self.min is not None and self.value < self.min) or (
            self.max is not None and self.value > self.max
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "labels": self.labels,
            "min_labels": self.min_labels,
            "label_records": self.label_records,
            "unjoined_labels": self.unjoined_labels,
            "min": self.min,
            "max": self.max,
            "status": self.status,
        }
        if self.status == "ok":
            out["value"] = self.value
            out["violated"] = self.violated
        return out


@dataclass(frozen=True)
class MonitorResult:
    monitor: str
    deployment: str
    model: str
    version: str | None  # the version that served most of the window
    reference: str  # the profile it was compared with
    window: WindowSummary
    ran_at: str
    status: str  # ok | no_data | insufficient_data
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # located: the window is not whole
    data_drift: DataDrift | None = None
    prediction_drift: PredictionDrift | None = None
    performance: Performance | None = None

    @property
    def alerts(self) -> list[str]:
        """The objectives out of bounds: data_drift, prediction_drift, performance."""
        out = []
        if self.data_drift is not None and self.data_drift.detected:
            out.append("data_drift")
        if self.prediction_drift is not None and self.prediction_drift.detected:
            out.append("prediction_drift")
        if self.performance is not None and self.performance.violated:
            out.append("performance")
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "monitor": self.monitor,
            "deployment": self.deployment,
            "model": self.model,
            "version": self.version,
            "reference": self.reference,
            "window": self.window.to_json(),
            "ran_at": self.ran_at,
            "notes": self.notes,
            "warnings": self.warnings,
            "alerts": self.alerts,
            "status": self.status,
        }
        for name in ("data_drift", "prediction_drift", "performance"):
            section = getattr(self, name)
            if section is not None:
                out[name] = section.to_json()
        return out
