"""What every document shares: apiVersion, kind, metadata; and the small value types of specs."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mlform import clock
from mlform.clock import DURATION_PATTERN

API_VERSION = "mlform/v1"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
MLFORM_ENV_PATTERN = r"^MLFORM_[A-Z0-9_]+$"
HTTP_URL_PATTERN = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"
SEMVER_PATTERN = r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"

Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        max_length=63,
        description="Lowercase letters, digits and '-', starting and ending with a letter or "
        "digit; it becomes DVC stage and artifact names and git tags.",
    ),
]
Ref = Annotated[
    str, Field(pattern=NAME_PATTERN, max_length=63, description="The name of a document.")
]


def _bounded(value: str) -> str:
    problem = clock.too_long(value)
    if problem:
        raise ValueError(problem)
    return value


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, description="A duration such as 30s, 15m, 1h, 7d."),
    AfterValidator(_bounded),
]
RELPATH_MAX = 1024
RelPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=RELPATH_MAX,
        description="A path relative to the project root; it may not leave the project.",
    ),
]
Quantity = Annotated[
    str, Field(pattern=QUANTITY_PATTERN, description="A Kubernetes quantity: 500m, 2, 1Gi.")
]
Scalar = str | int | float | bool | None
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class StrictModel(BaseModel):
    """Unknown keys are errors; YAML types are taken as written (no '1' → 1 coercion).

    Validators are built when a kind is first validated, not at import (``defer_build``):
    most commands meet few of the ~80 models, and start-up is what a pre-commit hook pays.
    Defaults that are models are therefore written ``Model.model_construct()``: an instance
    with every default, made without building (and without re-checking) a validator.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        populate_by_name=False,
        validate_default=False,
        allow_inf_nan=False,
        defer_build=True,
    )


class Bounds(StrictModel):
    """A lower and/or an upper bound."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class Metadata(StrictModel):
    name: Name
    labels: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,63}$")], str] = {}
    description: str = ""
    owner: str = ""


class Document(StrictModel):
    """The Kubernetes-style envelope of every spec document."""

    api_version: Literal["mlform/v1"] = Field(alias="apiVersion")
    kind: str
    metadata: Metadata
    spec: Any

    @property
    def name(self) -> str:
        return self.metadata.name


def exactly_one_key(data: Any, keys: tuple[str, ...], what: str) -> Any:
    """Shared rule of one-of mappings (`- impute: {...}`): a bare key means its defaults."""
    if isinstance(data, str):
        if data in keys:
            return {data: {}}
        close = difflib.get_close_matches(data, keys, n=1, cutoff=0.6)
        hint = f" — did you mean '{close[0]}'?" if close else f"; one of: {', '.join(keys)}"
        raise ValueError(f"unknown {what} '{data}'{hint}")
    if isinstance(data, dict):
        present = [k for k in keys if k in data]
        if len(present) > 1:
            raise ValueError(f"a {what} has exactly one of: {', '.join(present)}")
        if not data:
            raise ValueError(f"a {what} needs one of: {', '.join(keys)}")
        return {k: ({} if v is None and k in keys else v) for k, v in data.items()}
    return data


def one_key_json_schema(
    core_schema: CoreSchema, handler: GetJsonSchemaHandler, keys: tuple[str, ...], bare: bool
) -> JsonSchemaValue:
    """JSON Schema of a one-of mapping: exactly one key, or (``bare``) just the key's name."""
    reference = handler(core_schema)
    target = handler.resolve_ref_schema(reference)
    mapping = {**target, "minProperties": 1, "maxProperties": 1}
    target.clear()
    if bare:
        target["anyOf"] = [{"type": "string", "enum": list(keys)}, mapping]
    else:
        target.update(mapping)
    return reference
