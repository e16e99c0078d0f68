"""Shared test helpers: build file trees, copy examples, run the CLI in-process."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlform.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


@dataclass
class Run:
    code: int
    out: str
    err: str


# The credit-risk example's model inputs, in the order clients send them.
CREDIT_INPUTS = (
    "age",
    "income",
    "employment_years",
    "housing",
    "purpose",
    "credit_history",
    "loan_amount",
    "loan_term_months",
)


def build_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: content}`` under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(
        EXAMPLES / name,
        dest,
        ignore=shutil.ignore_patterns("artifacts", ".dvc", "dvc.lock", "__pycache__"),
    )
    return dest


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Run]:
    """Run `mlform ARGS` in-process from ``cwd``; return exit code, stdout, stderr."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(list(args))
        captured = capsys.readouterr()
        code = exit_info.value.code
        return Run(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run


@pytest.fixture
def credit(tmp_path: Path) -> Path:
    return copy_example("credit-risk", tmp_path / "credit-risk")


@pytest.fixture
def diabetes(tmp_path: Path) -> Path:
    return copy_example("diabetes-regression", tmp_path / "diabetes-regression")
