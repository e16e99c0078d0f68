"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit against a real repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_example

pytestmark = pytest.mark.slow
GIT_ID = ["-c", "user.email=t@example.com", "-c", "user.name=t"]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *GIT_ID, *args], cwd=cwd, check=True, capture_output=True)


def test_hooks_pass_then_block_a_bad_spec(tmp_path: Path) -> None:
    # pre-commit installs hooks from a git revision: snapshot this checkout (with any
    # uncommitted changes) into a throwaway repository.
    hooks_repo = tmp_path / "mlform-src"
    shutil.copytree(
        REPO,
        hooks_repo,
        ignore=shutil.ignore_patterns(
            ".git",
            ".ci-venv",
            ".venv",
            "venv",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            "artifacts",
            "build",
            "dist",
        ),
    )
    git("init", "-q", cwd=hooks_repo)
    git("add", "-A", cwd=hooks_repo)
    git("commit", "-qm", "snapshot", cwd=hooks_repo)
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hooks_repo, capture_output=True, text=True, check=True
    ).stdout.strip()

    project = copy_example("credit-risk", tmp_path / "project")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n"
        "      - id: mlform-validate\n      - id: mlform-compile-check\n"
    )
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--all-files"]

    ok = subprocess.run(
        pre_commit, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "mlform validate" in ok.stdout and "Passed" in ok.stdout

    training = project / "ml" / "training.yaml"
    training.write_text(training.read_text().replace("max_iter: 100", "max_itr: 100"))
    git("add", "-A", cwd=project)
    bad = subprocess.run(
        pre_commit, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert (
        "ml/training.yaml:12:7: error E104: Training 'credit-gbm': spec.estimator.params: "
        "unknown parameter 'max_itr' for HistGradientBoostingClassifier — did you mean 'max_iter'?"
    ) in bad.stdout
