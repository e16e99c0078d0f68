"""Real DVC accepts the rendered pipeline in a real git + DVC repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_example

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def sh(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def dvc_repo(example: str, tmp_path: Path) -> Path:
    root = copy_example(example, tmp_path / example)
    sh("git", "init", "-q", cwd=root)
    sh(str(BIN / "dvc"), "init", "-q", cwd=root)
    return root


@pytest.mark.parametrize("example", ["credit-risk", "diabetes-regression"])
def test_dvc_accepts_the_pipeline(example: str, tmp_path: Path) -> None:
    root = dvc_repo(example, tmp_path)
    dag = sh(str(BIN / "dvc"), "dag", "--md", cwd=root)
    assert "```mermaid" in dag
    pipelines = [
        "dvc.yaml",
        *sorted(str(p.relative_to(root)) for p in root.glob("pipelines/*/dvc.yaml")),
    ]
    for pipeline in pipelines:
        status = json.loads(sh(str(BIN / "dvc"), "status", "--json", pipeline, cwd=root))
        stages = [name.rpartition(":")[2] for name in status]
        assert any(name.startswith("train-") for name in stages), pipeline
        listed = sh(str(BIN / "dvc"), "stage", "list", "--name-only", pipeline, cwd=root)
        assert [name.rpartition(":")[2] for name in listed.split()] == stages, pipeline


def test_dvc_sees_the_spec_params(tmp_path: Path) -> None:
    """`dvc params diff` reads the rendered params.yaml keys a stage depends on."""
    root = dvc_repo("credit-risk", tmp_path)
    sh("git", "add", "-A", cwd=root)
    sh(
        "git",
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-qm",
        "init",
        cwd=root,
    )
    training = root / "ml" / "training.yaml"
    training.write_text(training.read_text().replace("max_iter: 100", "max_iter: 200"))
    sh(str(BIN / "mlform"), "compile", cwd=root)
    diff = json.loads(sh(str(BIN / "dvc"), "params", "diff", "--json", cwd=root))
    assert diff["params.yaml"]["training.credit-gbm.params.max_iter"] == {
        "old": 100,
        "new": 200,
        "diff": 100,
    }


def test_dvc_reads_a_path_with_dollar_braces_as_written(tmp_path: Path) -> None:
    """DVC interpolates ``${name}`` in dvc.yaml from params.yaml: a Dataset path
    ``data/credit-${seed}.csv`` must stay that file, not become ``data/credit-42.csv``."""
    import mlform
    from tests.pipeline_helpers import edit

    root = dvc_repo("credit-risk", tmp_path)
    (root / "data" / "credit.csv").rename(root / "data" / "credit-${seed}.csv")
    edit(root / "ml" / "dataset.yaml", "path: data/credit.csv", "path: data/credit-${seed}.csv")
    mlform.compile(root)
    assert "data/credit-\\${seed}.csv" in (root / "dvc.yaml").read_text()
    listed = json.loads(sh(str(BIN / "dvc"), "status", "--json", cwd=root))
    deps = {d for stage in listed.values() for item in stage for d in item.get("changed deps", {})}
    assert "data/credit-${seed}.csv" in deps and "data/credit-42.csv" not in deps
