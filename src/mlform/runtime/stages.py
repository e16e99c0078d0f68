"""Entry point of `mlform stage STEP NAME`, the commands in the generated dvc.yaml."""

from __future__ import annotations

from pathlib import Path

from mlform.errors import UserError


def run_stage(step: str, name: str, params_file: Path) -> int:
    raise UserError(f"the '{step}' stage is not implemented yet in this mlform version")
