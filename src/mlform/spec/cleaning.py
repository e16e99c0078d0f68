"""A Dataset's cleaning: ordered rules that drop (or clip) rows before the checks run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mlform.conditions import MAX_LENGTH, ConditionInvalid, invalid_message, parse
from mlform.spec.base import Fraction, StrictModel, exactly_one_key, one_key_json_schema

CONSTRAINTS = ("dtype", "nullable", "min", "max", "allowed", "regex", "unique")
BOUNDS = ("min", "max")
DEFAULT_MAX_REMOVED_FRACTION = 0.05


class DropDuplicates(StrictModel):
    subset: list[str] | None = Field(
        default=None,
        min_length=1,
        description="The columns that make two rows the same; all declared columns when not "
        "given. The first of the rows is kept.",
    )


class DropMissingTarget(StrictModel):
    """Rows whose target is missing (or not of its dtype) are dropped."""


class OutsideSchema(StrictModel):
    action: Literal["drop", "clip"] = Field(
        default="drop",
        description="drop: remove the row; clip: move a numeric value to its column's min or max.",
    )
    columns: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Declared columns; all of them (with clip: all with a min or max) when not given.",
    )
    constraints: (
        list[Literal["dtype", "nullable", "min", "max", "allowed", "regex", "unique"]] | None
    ) = Field(
        default=None,
        min_length=1,
        description="The column constraints applied; every declared one (with clip: min and max) "
        "when not given.",
    )

    @model_validator(mode="after")
    def _clip_bounds(self) -> OutsideSchema:
        if self.action == "clip" and self.constraints is not None:
            other = [c for c in self.constraints if c not in BOUNDS]
            if other:
                raise ValueError(
                    f"clip moves values to a column's min or max; {', '.join(other)} cannot be "
                    "clipped (add a rule with action: drop for them)"
                )
        return self


class DropWhere(StrictModel):
    condition: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)] = Field(
        description="Rows where it holds are dropped: comparisons of columns with values or "
        "columns (==, !=, <, <=, >, >=), `is missing`, `is not missing`, combined with and, or, "
        "not and parentheses. Write `a name with spaces` in backquotes; text in quotes."
    )
    description: str = Field(default="", description="Why these rows go; shown in the report.")

    @field_validator("condition")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except ConditionInvalid as invalid:
            raise ValueError(invalid_message(value, invalid)) from None
        return value


RULE_KINDS = ("drop_duplicates", "drop_missing_target", "outside_schema", "drop_where")


class Rule(StrictModel):
    """One cleaning rule; write exactly one key, e.g. `- drop_duplicates: {subset: [id]}` or
    `- drop_missing_target`."""

    drop_duplicates: DropDuplicates | None = None
    drop_missing_target: DropMissingTarget | None = None
    outside_schema: OutsideSchema | None = None
    drop_where: DropWhere | None = None

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return one_key_json_schema(core_schema, handler, RULE_KINDS, bare=True)

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        return exactly_one_key(data, RULE_KINDS, "cleaning rule")

    @property
    def kind(self) -> str:
        return next(k for k in RULE_KINDS if getattr(self, k) is not None)


class Cleaning(StrictModel):
    rules: Annotated[list[Rule], Field(min_length=1)] = Field(
        description="Applied in order, each to the rows the previous ones kept."
    )
    max_removed_fraction: Fraction = Field(
        default=DEFAULT_MAX_REMOVED_FRACTION,
        description="The cleaning stage fails when the rules together would remove more than "
        "this fraction of the rows: silent data loss is the failure to avoid.",
    )
