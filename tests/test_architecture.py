"""The layers hold: `lint-imports` (import-linter) checks the contract in pyproject.toml,
and every module of mlform belongs to a layer, so a new one cannot slip past it."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "mlform"


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_every_module_is_in_a_layer() -> None:
    modules = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").is_file())
    }
    assert sorted(modules - set(_layers())) == []


def test_the_layer_contract_is_kept() -> None:
    program = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if program is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    done = subprocess.run(
        [program, "--config", str(REPO / "pyproject.toml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_only_engines_starts_programs() -> None:
    """Also without import-linter: no module outside engines/ imports subprocess."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "subprocess" in names:
                offenders.append(path.relative_to(PACKAGE).as_posix())
    assert offenders == ["engines/process.py"]


def test_validate_starts_without_heavy_libraries() -> None:
    """`mlform validate` runs as a pre-commit hook: it must not import the ML stack."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlform", "validate", "examples/credit-risk"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {
        line.split("|")[2].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    heavy = {"numpy", "pandas", "sklearn", "scipy", "onnx", "onnxruntime", "dvc", "jinja2", "yaml"}
    assert sorted(imported & heavy) == []
