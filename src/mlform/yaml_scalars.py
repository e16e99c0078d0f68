"""YAML 1.2 core-schema scalars as specs read them (no ``yes``/``no`` booleans, no
sexagesimal, no dates, no tags beyond the core ones), and the located error that stops
reading a file. Used by ``loader``, the only YAML parser."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

Mark = tuple[int, int]  # 1-based (line, column)

CORE = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
# First characters of plain scalars that only a string can have (null, true, false, numbers,
# .inf and .nan start otherwise).
_TEXT_FIRST = frozenset("abcdeghijklmopqrsuvwxyzABCDEGHIJKLMOPQRSUVWXYZ_/$^@%&*()[]{}<>=!?|`'\"")


class YamlError(Exception):
    """A problem that stops reading a file, located in it."""

    def __init__(self, code: str, message: str, mark: Mark) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark


def unsupported(tag: str, mark: Mark) -> YamlError:
    shown = "!!" + tag[len(CORE) :] if tag.startswith(CORE) else tag
    return YamlError("E008", f"unsupported YAML tag '{shown}': specs are plain data", mark)


def scalar(value: str, tag: str | None, plain: bool, mark: Mark) -> Any:
    if tag in (None, "!"):
        if not plain:
            return value
        return resolve_plain(value)
    if not tag.startswith(CORE):
        raise unsupported(tag, mark)
    kind = tag[len(CORE) :]
    if kind == "str":
        return value
    resolved = resolve_plain(value)
    expected: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, float | int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    check = expected.get(kind)
    if check is None:
        raise unsupported(tag, mark)
    if not check(resolved):
        raise YamlError("E001", f"'{value}' is not a valid !!{kind}", mark)
    return float(resolved) if kind == "float" else resolved


def resolve_plain(value: str) -> Any:
    """YAML 1.2 core schema: no ``yes``/``no`` booleans, no sexagesimal, no dates."""
    if value and value[0] in _TEXT_FIRST:
        return value  # most values: nothing but a string starts so
    if _NULL.match(value):
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT.match(value):
        return int(value)
    if _OCT.match(value):
        return int(value[2:], 8)
    if _HEX.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return -math.inf if value.startswith("-") else math.inf
    if _NAN.match(value):
        return math.nan
    return value
