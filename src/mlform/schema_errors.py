"""pydantic's validation errors, turned into diagnostics a person can act on.

A pydantic ``loc`` names model fields and also union members (``Distribution``,
``list[...]``); it is walked against the document's data to find the field path the user
wrote and the line and column it sits at. Errors of union members that plainly do not
apply are dropped, so one mistake gives one message.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from mlform.clock import DURATION_PATTERN
from mlform.diagnostics import Diagnostic, Severity, format_path
from mlform.loader import Loc, RawDocument
from mlform.spec.base import (
    HTTP_URL_PATTERN,
    MLFORM_ENV_PATTERN,
    NAME_PATTERN,
    QUANTITY_PATTERN,
    SEMVER_PATTERN,
)

_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "null",
    "finite_number": "a finite number",
}

_PATTERNS = {
    NAME_PATTERN: "names are lowercase letters, digits and '-', starting and ending with a "
    "letter or digit (at most 63 characters)",
    DURATION_PATTERN: "a duration is a number and a unit: 30s, 15m, 1h, 7d, 2w",
    MLFORM_ENV_PATTERN: "name an environment variable starting with MLFORM_ (the operator "
    "sets it; a spec cannot point mlform at the runner's other secrets)",
    HTTP_URL_PATTERN: "it must be an http(s) URL with a host and no query, such as "
    "http://prometheus:9090",
    QUANTITY_PATTERN: "a quantity is a number with an optional unit: 500m, 2, 512Mi, 1Gi",
}


def describe(value: Any) -> str:
    """How a YAML value reads in a message."""
    if value is None:
        return "null (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover


def _data_loc(error: dict[str, Any]) -> tuple[Any, ...]:
    """A missing field's loc names a key that is not in the data: walk to its parent."""
    loc: tuple[Any, ...] = error["loc"]
    return loc[:-1] if error["type"] == "missing" else loc


def _walk(data: Any, loc: tuple[Any, ...]) -> tuple[Loc, int | None]:
    """The part of ``loc`` that exists in ``data``, and where the first union label was."""
    path: list[str | int] = []
    label_at: int | None = None
    for part in loc:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            if label_at is None and not isinstance(part, int):
                label_at = len(path)
            continue
        path.append(part)
    return tuple(path), label_at


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types an annotation allows (Annotated, Optional and unions opened)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` (a pydantic loc), for 'did you mean' suggestions."""
    candidates: list[Any] = [model]
    for part in loc:
        following: list[Any] = []
        for tp in candidates:
            for concrete in _unwrap(tp):
                following.extend(_step(concrete, part))
        candidates = following
    names: list[str] = []
    for tp in candidates:
        for concrete in _unwrap(tp):
            if isinstance(concrete, type) and issubclass(concrete, BaseModel):
                names.extend(f.alias or n for n, f in concrete.model_fields.items())
    return names


def _step(tp: Any, part: Any) -> list[Any]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if part == tp.__name__:
            return [tp]
        for name, field in tp.model_fields.items():
            if part in (name, field.alias):
                return [field.annotation]
        return []
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list and isinstance(part, int):
        return [args[0]]
    if origin is dict and isinstance(part, str):
        return [args[1]]
    if origin is list and isinstance(part, str) and part.startswith("list["):
        return [tp]
    return []


def suggestion(word: Any, candidates: list[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close and len(word) >= 3:  # an abbreviation: 'prod' for 'production', or back
        close = [
            c for c in candidates if c.startswith(word) or (len(c) >= 3 and word.startswith(c))
        ][:1]
    return f" — did you mean '{close[0]}'?" if close else ""


def _options(ctx: dict[str, Any]) -> list[str]:
    expected = str(ctx.get("expected", ""))
    return [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(", ")]


def _message(error: dict[str, Any], model: type[BaseModel]) -> tuple[str, str]:
    """(code, summary) for one pydantic error."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    loc = error["loc"]
    if len(kind) == 4 and kind[0] in "EW" and kind[1:].isdigit():
        return kind, error["msg"]
    if kind == "missing":
        return "E106", f"missing required field '{loc[-1]}'"
    if kind == "extra_forbidden":
        allowed = fields_at(model, loc[:-1])
        return "E105", f"unknown field '{loc[-1]}'{suggestion(loc[-1], allowed)}"
    if kind in ("literal_error", "enum"):
        options = [{"True": "true", "False": "false"}.get(o, o) for o in _options(ctx)]
        hint = suggestion(value, options)
        return "E103", f"{describe(value)} is not one of: {', '.join(options)}{hint}"
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(ctx.get("pattern", "")), value)
    if kind in _EXPECTED:
        return "E103", f"expected {_EXPECTED[kind]}, got {describe(value)}"
    bounds = {
        "greater_than_equal": "≥",
        "greater_than": ">",
        "less_than_equal": "≤",
        "less_than": "<",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return "E103", f"must be {bounds[kind]} {limit}, got {value}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return _length_message(kind, ctx, value)
    if kind == "value_error":
        return "E103", str(error["msg"]).removeprefix("Value error, ")
    return "E103", str(error["msg"])  # pragma: no cover - every type a spec can hit is above


def _pattern_message(pattern: str, value: Any) -> tuple[str, str]:
    if pattern == NAME_PATTERN:
        return "E107", f"invalid name '{value}': {_PATTERNS[pattern]}"
    if SEMVER_PATTERN[1:-1] in pattern:
        return "E103", f"'{value}' is not a version selector: use latest-passing or 1.2.3"
    reason = _PATTERNS.get(pattern, f"it must match {pattern}")
    return "E103", f"invalid value '{value}': {reason}"


def _length_message(kind: str, ctx: dict[str, Any], value: Any) -> tuple[str, str]:
    count = ctx.get("min_length", ctx.get("max_length"))
    if kind in ("too_short", "too_long"):
        which = "at least" if kind == "too_short" else "at most"
        if isinstance(value, str):
            return "E103", f"must have {which} {count} characters"
        return "E103", f"needs {which} {count} item{'s' if count != 1 else ''}"
    if kind == "string_too_long" and ctx.get("max_length") == 63:
        return "E107", f"invalid name '{value}': {_PATTERNS[NAME_PATTERN]}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "E103", "must not be empty"
    which = "at least" if kind == "string_too_short" else "at most"
    return "E103", f"must have {which} {count} characters"


def _drop_inapplicable_branches(errors: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Of a union's errors, keep the branch that matched the value's shape, if one did."""
    groups: dict[tuple[Loc, int], list[dict[str, Any]]] = {}
    kept: list[dict[str, Any]] = []
    for error in errors:
        path, label_at = _walk(data, _data_loc(error))
        if label_at is None:
            kept.append(error)
        else:
            groups.setdefault((path[:label_at], label_at), []).append(error)
    for (union_path, _), members in groups.items():
        deep = [
            e
            for e in members
            if _walk(data, _data_loc(e))[0] != union_path or e["type"] not in _EXPECTED
        ]
        if deep:
            kept.extend(deep)
            continue
        expected = {_EXPECTED[e["type"]] for e in members}
        first = dict(members[0])
        first["type"] = "union_mismatch"
        first["msg"] = f"expected {expected_any(expected)}, got {describe(first.get('input'))}"
        kept.append(first)
    return _merge_same_place(kept, data)


def _merge_same_place(errors: list[dict[str, Any]], data: Any) -> list[dict[str, Any]]:
    """Several type mismatches at one value (the members of a union) read as one."""
    merged: dict[Loc, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for error in errors:
        if error["type"] not in _EXPECTED and error["type"] != "union_mismatch":
            out.append(error)
            continue
        path = _walk(data, _data_loc(error))[0]
        if path not in merged:
            merged[path] = dict(error)
            out.append(merged[path])
            continue
        first = merged[path]
        wanted = _wanted(first) | _wanted(error)
        first["type"] = "union_mismatch"
        first["msg"] = f"expected {expected_any(wanted)}, got {describe(first.get('input'))}"
    return out


_ORDER = ("a string", "a number", "an integer", "true or false", "null", "a list", "a mapping")


def expected_any(wanted: set[str]) -> str:
    """'a string, a number or a list': the forms a value may take, in a reading order."""
    if "a number" in wanted:
        wanted = wanted - {"an integer", "a finite number"}
    forms = sorted(wanted, key=lambda w: _ORDER.index(w) if w in _ORDER else len(_ORDER))
    return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"


def _wanted(error: dict[str, Any]) -> set[str]:
    if error["type"] in _EXPECTED:
        return {_EXPECTED[error["type"]]}
    text = str(error["msg"]).removeprefix("expected ").split(", got ")[0]
    return {w.strip() for part in text.split(" or ") for w in part.split(", ")}


def diagnostics_for(
    raw: RawDocument, label: str, model: type[BaseModel], exc: ValidationError
) -> list[Diagnostic]:
    """Located diagnostics for every error pydantic found in one document."""
    out: list[Diagnostic] = []
    errors = [dict(e) for e in exc.errors(include_url=False)]
    for error in _drop_inapplicable_branches(errors, raw.data):
        path, _ = _walk(raw.data, _data_loc(error))
        value = error.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            code, summary = "E103", f"must be a finite number, got {value}"
        elif error["type"] == "union_mismatch":
            code, summary = "E103", error["msg"]
        else:
            code, summary = _message(error, model)
        if error["type"] == "extra_forbidden":
            field_path, mark = path[:-1], raw.key_mark(path)
        elif error["type"] == "missing":
            field_path, mark = path, (raw.key_mark(path) if path else raw.start)
        else:
            field_path = path
            mark = raw.mark(path)
        severity = Severity.WARNING if code.startswith("W") else Severity.ERROR
        out.append(
            Diagnostic(
                severity, raw.file, mark[0], mark[1], code, summary, label, format_path(field_path)
            )
        )
    return out
