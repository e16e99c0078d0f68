"""`.vscode/settings.json` for a project: which schema checks which YAML files.

The Red Hat YAML extension (and any client of yaml-language-server) reads ``yaml.schemas``:
schema path → glob list. ``mlform init`` maps the combined schema to the project's spec
files and the overlay schema to its environment overlays, so files without a
``# yaml-language-server: $schema=`` line are checked too.

An existing settings.json is merged into: every other key is kept as it is, and mlform's globs
are added to the lists already there. A settings.json that is not strict JSON (VS Code also
accepts comments and trailing commas, "JSONC") is refused with its location rather than
rewritten, since rewriting it would drop the user's comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlform.errors import UserError
from mlform.schema_export import COMBINED, OVERLAY

SETTINGS = Path(".vscode") / "settings.json"


def schema_globs(specs: list[str], overlays: list[str]) -> dict[str, list[str]]:
    """``yaml.schemas`` for a project whose Project lists ``specs`` folders and ``overlays``."""
    spec_globs = ["mlform.yaml"]
    for entry in specs:
        folder = entry.strip("/")
        if folder.endswith((".yaml", ".yml")):
            spec_globs.append(folder)
        else:
            spec_globs += [f"{folder}/**/*.yaml", f"{folder}/**/*.yml"]
    mapping = {f"./schemas/{COMBINED}": spec_globs}
    if overlays:
        mapping[f"./schemas/{OVERLAY}"] = [o.strip("/") for o in overlays]
    return mapping


def read_settings(directory: Path) -> dict[str, Any]:
    """The project's settings.json as data ({} when there is none); a clear error otherwise."""
    path = directory / SETTINGS
    if not path.exists():
        return {}
    shown = SETTINGS.as_posix()
    hint = (
        f"mlform does not rewrite {shown} unless it is plain JSON (comments and trailing "
        "commas would be lost). Fix or remove it, or add the `yaml.schemas` mapping from "
        "docs/spec.md#editor-completion by hand."
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{shown}: cannot be read: {error}", hint=hint) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(
            f"{shown}:{error.lineno}:{error.colno}: not plain JSON ({error.msg})", hint=hint
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{shown}: expected a JSON object, got {type(data).__name__}", hint=hint)
    schemas = data.get("yaml.schemas")
    if schemas is not None and not (
        isinstance(schemas, dict) and all(isinstance(v, (str, list)) for v in schemas.values())
    ):
        raise UserError(
            f"{shown}: `yaml.schemas` is not a mapping of schema → glob or glob list", hint=hint
        )
    return data


def merged_settings(settings: dict[str, Any], mapping: dict[str, list[str]]) -> bytes:
    """``settings`` with ``mapping``'s globs added to ``yaml.schemas``, as the file's bytes."""
    out = dict(settings)
    schemas: dict[str, Any] = dict(out.get("yaml.schemas") or {})
    for schema, globs in mapping.items():
        present = schemas.get(schema, [])
        present = [present] if isinstance(present, str) else list(present)
        schemas[schema] = present + [g for g in globs if g not in present]
    out["yaml.schemas"] = schemas
    return (json.dumps(out, indent=4, ensure_ascii=False) + "\n").encode()
