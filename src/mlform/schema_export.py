"""JSON Schema of every kind, generated from the pydantic models (the single source).

Besides one schema per kind and the combined one, ``overlay.schema.json`` checks environment
overlay files (see overlays.py): each document names a kind and ``metadata.name`` and holds a
JSON merge patch of the spec, so nothing in a mapping is required and ``null`` (delete) is
allowed for every key; list items replace whole, so they keep the full schema.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from mlform.spec import KINDS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMBINED = "mlform.schema.json"
OVERLAY = "overlay.schema.json"
PATCH = "Patch"  # suffix of the $defs an overlay document uses


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
    out[OVERLAY] = _dump(_overlay_schema(combined))
    return out


def _overlay_schema(combined: dict[str, Any]) -> dict[str, Any]:
    """The combined schema turned into one for merge-patch documents (overlay files)."""
    defs: dict[str, Any] = dict(combined["$defs"])
    patches: dict[str, Any] = {}
    wanted = ["Metadata"]

    def patch(node: Any) -> Any:
        if isinstance(node, list):
            return [patch(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                name = value.removeprefix("#/$defs/")
                wanted.append(name)
                out[key] = f"#/$defs/{name}{PATCH}"
            elif key in ("required", "discriminator", "default"):
                continue  # a patch may leave out anything; the base keeps its values
            elif key in ("properties", "patternProperties"):
                out[key] = {k: _nullable(patch(v)) for k, v in value.items()}
            elif key == "additionalProperties" and isinstance(value, dict):
                out[key] = _nullable(patch(value))
            elif key in ("anyOf", "oneOf", "allOf"):  # partial variants may overlap: anyOf
                out["allOf" if key == "allOf" else "anyOf"] = patch(value)
            else:  # items, prefixItems (lists replace whole), const, enum, type, ...
                out[key] = value
        return out

    specs = {kind: patch(defs[kind]["properties"]["spec"]) for kind in KINDS}
    while wanted:
        name = wanted.pop()
        if name not in patches:
            patches[name] = {}  # a placeholder, so recursive definitions terminate
            patches[name] = patch(defs[name])
    assert not set(defs) & {f"{name}{PATCH}" for name in patches}, "a $defs name clash"
    for name, schema in sorted(patches.items()):
        title = schema.get("title", name)
        defs[f"{name}{PATCH}"] = {**schema, "title": f"{title} (overlay)"}
    metadata = defs[f"Metadata{PATCH}"]
    defs[f"Metadata{PATCH}"] = {**metadata, "required": ["name"]}
    documents = []
    for kind, spec in specs.items():
        documents.append(
            {
                "type": "object",
                "title": f"{kind} overlay",
                "description": f"Patches the {kind} of the same metadata.name "
                "(or adds one for this environment).",
                "additionalProperties": False,
                "required": ["kind", "metadata"],
                "properties": {
                    "apiVersion": defs[kind]["properties"]["apiVersion"],
                    "kind": {"const": kind, "type": "string"},
                    "metadata": {"$ref": f"#/$defs/Metadata{PATCH}"},
                    "spec": spec,
                },
            }
        )
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "mlform environment overlay (apiVersion mlform/v1)",
        "description": "A document of an environment's overlay file: a kind, metadata.name "
        "and a JSON merge patch (RFC 7386) of that document's spec; null deletes a key.",
        "oneOf": documents,
        "$defs": dict(sorted(defs.items())),
    }


def _nullable(schema: Any) -> Any:
    """``schema`` or null: null in a merge patch deletes the key."""
    if not isinstance(schema, dict) or {"type": "null"} in schema.get("anyOf", []):
        return schema
    if schema.get("type") == "null":
        return schema
    wrapper = {k: schema[k] for k in ("title", "description") if k in schema}
    return {**wrapper, "anyOf": [schema, {"type": "null"}]}


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
