"""JSON Schema of every kind, generated from the pydantic models (the single source)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from mlform.spec import KINDS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMBINED = "mlform.schema.json"


def _file_name(kind: str) -> str:
    return f"{kind.lower()}.schema.json"


def schemas() -> dict[str, str]:
    """File name → JSON text: one schema per kind and one for any mlform document."""
    out: dict[str, str] = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema(by_alias=True)
        out[_file_name(kind)] = _dump({"$schema": SCHEMA_DIALECT, **schema})
    members = tuple(KINDS.values())
    any_document: Any = Annotated[Union[members], Field(discriminator="kind")]  # noqa: UP007
    combined = TypeAdapter(any_document).json_schema(by_alias=True)
    out[COMBINED] = _dump(
        {
            "$schema": SCHEMA_DIALECT,
            "title": "mlform document (apiVersion mlform/v1)",
            "description": "Any mlform spec document; `kind` selects the schema.",
            **combined,
        }
    )
    return out


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
