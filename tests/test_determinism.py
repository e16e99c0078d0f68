"""Same specs and data, same bytes: every stage's outputs (ONNX, pipeline, metrics, reports)
and every rendered file are identical under other hash seeds and thread counts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_example

STAGES = [
    ("clean", "credit"),
    ("check", "credit"),
    ("profile", "credit"),
    ("split", "credit"),
    ("train", "credit-gbm"),
    ("evaluate", "credit-gbm"),
    ("export", "credit-risk"),
    ("review", "credit-risk"),
]


def _run(root: Path, seed: str, threads: str, *args: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed, "OMP_NUM_THREADS": threads}
    subprocess.run(
        [sys.executable, "-m", "mlform", *args], cwd=root, env=env, check=True, capture_output=True
    )


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_every_output_is_byte_identical_across_processes(tmp_path: Path) -> None:
    runs = {}
    for seed, threads in (("0", "1"), ("1", "2"), ("4242", "1")):
        root = copy_example("credit-risk", tmp_path / f"seed-{seed}" / "credit-risk")
        training = root / "ml" / "training.yaml"
        training.write_text(
            training.read_text().replace("budget: {n_iter: 6}", "budget: {n_iter: 2}")
        )
        _run(root, seed, threads, "compile")
        for step, name in STAGES:
            _run(root, seed, threads, "stage", step, name)
        runs[seed] = _digests(root)
    first = runs["0"]
    assert "artifacts/models/credit-risk/model.onnx" in first
    for seed, digests in runs.items():
        differ = sorted(p for p in first if digests.get(p) != first[p])
        assert differ == [], f"PYTHONHASHSEED={seed} gave other bytes for {differ}"
