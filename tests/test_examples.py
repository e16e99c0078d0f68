"""The examples' data is what their generator scripts write, byte for byte."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


@pytest.mark.parametrize(
    ("example", "data"),
    [("credit-risk", "data/credit.csv"), ("diabetes-regression", "data/diabetes.csv")],
)
def test_committed_data_is_reproducible(example: str, data: str, tmp_path: Path) -> None:
    copy = tmp_path / example
    shutil.copytree(EXAMPLES / example / "data", copy / "data")
    (copy / data).unlink()
    subprocess.run([sys.executable, "data/generate.py"], cwd=copy, check=True)
    assert (copy / data).read_bytes() == (EXAMPLES / example / data).read_bytes()
