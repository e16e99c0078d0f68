"""RetrainPolicy: when a model is retrained, and what happens to the challenger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mlform.catalog.metrics import MetricName
from mlform.spec.base import (
    Document,
    Duration,
    Ref,
    StrictModel,
    exactly_one_key,
    one_key_json_schema,
)
from mlform.spec.cron import Cron
from mlform.spec.monitor import AlertKind


class MonitorAlert(StrictModel):
    monitor: Ref
    alerts: list[AlertKind] = Field(default=[], description="Which alerts; empty means any.")


class MetricBelow(StrictModel):
    monitor: Ref
    metric: MetricName
    min: float


class NewData(StrictModel):
    dataset: Ref


class Schedule(StrictModel):
    cron: Cron


TRIGGER_KINDS = ("monitor_alert", "metric_below", "new_data", "schedule")


class Trigger(StrictModel):
    """One trigger; write exactly one key, e.g. `- new_data: {dataset: credit}`."""

    monitor_alert: MonitorAlert | None = None
    metric_below: MetricBelow | None = None
    new_data: NewData | None = None
    schedule: Schedule | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return one_key_json_schema(core_schema, handler, TRIGGER_KINDS, bare=False)

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        return exactly_one_key(data, TRIGGER_KINDS, "trigger")

    @property
    def kind(self) -> str:
        return next(k for k in TRIGGER_KINDS if getattr(self, k) is not None)


class MaxFrequency(StrictModel):
    count: Annotated[int, Field(ge=1)]
    per: Duration


class RetrainData(StrictModel):
    include_feedback: bool = Field(
        default=False, description="Append labelled production traffic to the dataset (via DVC)."
    )


class ChampionChallenger(StrictModel):
    metric: MetricName | None = Field(default=None, description="Defaults to the Training's first.")
    min_improvement: float = Field(
        default=0.0, description="How much better the challenger must be on the common holdout."
    )


class Promotion(StrictModel):
    mode: Literal["auto", "propose"] = Field(
        default="propose",
        description="auto: promote and deploy through the reconciler; propose: commit the "
        "change on a new git branch for review.",
    )
    champion_challenger: ChampionChallenger = ChampionChallenger.model_construct()
    deployment: Ref | None = Field(default=None, description="The Deployment to roll out to.")
    branch_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$")] = "mlform/retrain-"


class RetrainPolicySpec(StrictModel):
    model: Ref
    triggers: Annotated[list[Trigger], Field(min_length=1)]
    cooldown: Duration = "24h"
    max_frequency: MaxFrequency | None = None
    data: RetrainData = RetrainData.model_construct()
    promotion: Promotion = Promotion.model_construct()


class RetrainPolicy(Document):
    """Automated retraining: triggers, cooldown, and champion/challenger promotion."""

    kind: Literal["RetrainPolicy"]
    spec: RetrainPolicySpec
