"""What a Monitor run found, as typed values; ``to_json`` is ``result.json``'s document (what
`mlform monitor run --format json` prints, the HTML report and Prometheus metrics render,
and retraining triggers read back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.monitoring.drift import FeatureDrift
    from mlform.runtime.fairness import FeatureParity


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
class SensitiveFeature:
    feature: str
    source: str  # request | feedback columns
    labels: int  # labelled predictions that carry the feature
    parity: FeatureParity | None
    status: str  # ok | insufficient_data | missing

    @property
    def value(self) -> float | None:
        return self.parity.value if self.parity is not None else None

    def to_json(self) -> dict[str, Any]:
        out = {
            "feature": self.feature,
            "source": self.source,
            "labels": self.labels,
            "status": self.status,
        }
        return {**out, **(self.parity.to_json() if self.parity is not None else {})}


@dataclass(frozen=True)
class Fairness:
    """The Model's fairness metric on the window's labelled predictions, per sensitive
    feature; ``value`` is the least fair scored feature's."""

    metric: str
    min: float | None
    max: float | None
    min_group_size: int
    labels: int
    status: str  # ok | insufficient_data | not_scored
    features: dict[str, SensitiveFeature]

    @property
    def value(self) -> float | None:
        from mlform.runtime.fairness import worst

        values = [f.value for f in self.features.values() if f.value is not None]
        return worst(values, self.metric) if values else None

    @property
    def violated(self) -> bool:
        from mlform.runtime.fairness import within

        value = self.value
        return value is not None and not within(value, self.min, self.max)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "min": self.min,
            "max": self.max,
            "min_group_size": self.min_group_size,
            "labels": self.labels,
            "status": self.status,
            "features": [f.to_json() for f in self.features.values()],
        }
        if self.value is not None:
            out["value"] = self.value
            out["violated"] = self.violated
        return out


@dataclass(frozen=True)
class CheckShare:
    """One column's share of window rows breaking one check of its schema."""

    column: str
    check: str  # type_mismatch | null | out_of_range | unseen_category | pattern_mismatch
    count: int
    share: float
    threshold: float
    examples: list[str]

    @property
    def violated(self) -> bool:
        return self.share > self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "share": self.share,
            "threshold": self.threshold,
            "violated": self.violated,
            "examples": self.examples,
        }


@dataclass(frozen=True)
class DataQuality:
    """The Dataset's schema on the window: per column and check, and the share of rows
    breaking any check."""

    rows: int
    checks: list[CheckShare]
    bad_rows: int
    max_row_share: float
    skipped: dict[str, str]  # column → why it was not checked

    @property
    def row_share(self) -> float:
        return self.bad_rows / self.rows if self.rows else 0.0

    @property
    def failed(self) -> list[CheckShare]:
        return [c for c in self.checks if c.violated]

    @property
    def detected(self) -> bool:
        return bool(self.failed) or self.row_share > self.max_row_share

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "checks": [c.to_json() for c in self.checks],
            "bad_rows": self.bad_rows,
            "row_share": self.row_share,
            "max_row_share": self.max_row_share,
            "skipped": self.skipped,
            "detected": self.detected,
        }


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
    fairness: Fairness | None = None
    data_quality: DataQuality | None = None

    @property
    def alerts(self) -> list[str]:
        """The objectives out of bounds: data_drift, prediction_drift, performance,
        fairness, data_quality."""
        out = []
        if self.data_drift is not None and self.data_drift.detected:
            out.append("data_drift")
        if self.prediction_drift is not None and self.prediction_drift.detected:
            out.append("prediction_drift")
        if self.performance is not None and self.performance.violated:
            out.append("performance")
        if self.fairness is not None and self.fairness.violated:
            out.append("fairness")
        if self.data_quality is not None and self.data_quality.detected:
            out.append("data_quality")
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
        for name in ("data_drift", "prediction_drift", "performance", "fairness", "data_quality"):
            section = getattr(self, name)
            if section is not None:
                out[name] = section.to_json()
        return out
