"""Reading params.yaml: the only input of a stage besides its data files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.errors import UserError


@dataclass(frozen=True)
class Params:
    data: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Params:
        from ruamel.yaml import YAML

        try:
            data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path} not found; run `mlform compile` first") from None
        if not isinstance(data, dict):
            raise UserError(f"{path} is not a params file written by `mlform compile`")
        return cls(data)

    def section(self, kind: str, name: str) -> dict[str, Any]:
        try:
            value = self.data[kind][name]
        except (KeyError, TypeError):
            raise UserError(
                f"params.yaml has no {kind}.{name}; is it stale? Run `mlform compile`"
            ) from None
        if not isinstance(value, dict):
            raise UserError(f"params.yaml: {kind}.{name} is not a mapping")
        return value
