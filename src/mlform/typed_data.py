"""Dataclasses to plain data and back: what YAML and JSON files hold, typed by the classes
that describe them. Reading checks every value against its field's type (dataclasses,
lists, mappings, unions, Literal, str/int/float/bool) and names the key path of the first
that does not fit."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from mlform.errors import UserError

T = TypeVar("T")


def to_data(value: Any, order: Mapping[type, tuple[str, ...]] | None = None) -> Any:
    """Plain data for YAML or JSON: dataclasses as mappings of their fields (in the order
    ``order`` gives for a class, else declared), leaving out None unless a field's metadata
    says ``null``; lists and mappings inside are left as they are, None included."""
    if type(value) in _SCALARS:  # most values: nothing to convert
        return value
    order = order or {}
    if isinstance(value, list):
        return [to_data(v, order) for v in value]
    if isinstance(value, dict):
        return {k: to_data(v, order) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names, keep = _layout(type(value), order.get(type(value)))
        return {
            n: to_data(v, order) for n in names if (v := getattr(value, n)) is not None or n in keep
        }
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


@cache
def _layout(cls: type, order: tuple[str, ...] | None) -> tuple[tuple[str, ...], frozenset[str]]:
    fields = dataclasses.fields(cls)
    keep = frozenset(f.name for f in fields if f.metadata.get("null"))
    return order or tuple(f.name for f in fields), keep


def read(data: Any, cls: type[T], where: str, at: str = "", advice: str = "") -> T:
    """``data`` (plain data read from ``where``, at key path ``at``) typed as the dataclass
    ``cls``; a UserError at the first value that does not fit, located by its key path
    (``advice`` follows unknown and missing keys)."""
    try:
        value: T = _typed(data, cls, at)
    except _Misfit as misfit:
        message = str(misfit)
        if misfit.shape and advice:
            message += f"; {advice}"
        raise UserError(f"{where}: {message}") from None
    return value


def build(data: Any, cls: type[T]) -> T:
    """``data`` as the dataclass ``cls``, without checking it: for data that has been
    validated already (the specs' own values). Unions are told apart by the data's shape."""
    value: T = _built(data, cls)
    return value


def _built(data: Any, hint: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        for option in get_args(hint):
            inner = get_origin(option)
            if (isinstance(option, type) and dataclasses.is_dataclass(option)) or inner is dict:
                if isinstance(data, dict):
                    return _built(data, option)
            elif inner is list and isinstance(data, list):
                return _built(data, option)
        return data
    if origin is list:
        (item,) = get_args(hint)
        return [_built(v, item) for v in data]
    if origin is dict:
        _, item = get_args(hint)
        return {k: _built(v, item) for k, v in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        return hint(**{k: _built(v, hints[k]) for k, v in data.items()})
    return data


class _Misfit(Exception):
    def __init__(self, message: str, shape: bool = False) -> None:
        super().__init__(message)
        self.shape = shape  # an unknown or missing key, not a wrong value


def _key(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _typed(data: Any, hint: Any, where: str) -> Any:
    if hint is Any:
        return data
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return _union(data, get_args(hint), where)
    if origin is Literal:
        if data not in get_args(hint):
            _fail(where, f"one of {', '.join(map(str, get_args(hint)))}", data)
        return data
    if origin is list:
        if not isinstance(data, list):
            _fail(where, "a list", data)
        (item,) = get_args(hint)
        return [_typed(v, item, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            _fail(where, "a mapping", data)
        _, item = get_args(hint)
        return {str(k): _typed(v, item, _key(where, k)) for k, v in data.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(data, hint, where)
    return _scalar(data, hint, where)


def _union(data: Any, options: tuple[Any, ...], where: str) -> Any:
    if data is None and type(None) in options:
        return None
    for option in options:
        if option is type(None):
            continue
        try:
            return _typed(data, option, where)
        except _Misfit:
            continue
    names = " or ".join(_name(o) for o in options if o is not type(None))
    _fail(where, names, data)


def _dataclass(data: Any, cls: type, where: str) -> Any:
    if not isinstance(data, dict):
        _fail(where, "a mapping", data)
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise _Misfit(f"{where or 'top level'}: unknown key '{unknown[0]}'", shape=True)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _typed(data[f.name], hints[f.name], _key(where, f.name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Misfit(f"{where or 'top level'}: '{f.name}' is missing", shape=True)
    return cls(**values)


def _scalar(data: Any, hint: Any, where: str) -> Any:
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data) if isinstance(data, int) else data
    if hint is int and isinstance(data, int) and not isinstance(data, bool):
        return data
    if hint in (str, bool) and type(data) is hint:
        return data
    if hint is type(None) and data is None:
        return None
    _fail(where, _name(hint), data)


def _name(hint: Any) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _fail(where: str, expected: str, got: Any) -> typing.NoReturn:
    raise _Misfit(f"{where or 'top level'}: expected {expected}, got {got!r}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
