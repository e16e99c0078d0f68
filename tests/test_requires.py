"""The README's test command passes on a machine without the Debian packages CI installs —
those tests skip with the reason — and the same tests fail under ``CI``, where a missing
package means a broken CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDS_PROMETHEUS = [
    "tests/monitoring/test_prometheus.py::test_apply_installs_the_rules_and_prometheus_reloads_them",
    "tests/monitoring/test_rules.py::test_promtool_accepts_the_rules",
]


def without_prometheus(tmp_path: Path) -> str:
    """PATH with git and dvc but without promtool and prometheus."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("git", "dvc"):
        found = shutil.which(name)
        assert found is not None
        (folder / name).symlink_to(found)
    return str(folder)


def pytest_run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = without_prometheus(tmp_path)
    if ci:
        env["CI"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *NEEDS_PROMETHEUS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.slow
def test_without_prometheus_the_tests_skip_with_the_reason(tmp_path: Path) -> None:
    done = pytest_run(tmp_path, ci=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "error" not in out.splitlines()[-1], out
    assert "prometheus is not installed (Debian package `prometheus`)" in out
    assert "promtool is not installed (Debian package `prometheus`)" in out


@pytest.mark.slow
def test_under_ci_a_missing_prometheus_fails(tmp_path: Path) -> None:
    done = pytest_run(tmp_path, ci=True)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "prometheus is not installed (Debian package `prometheus`); CI must install it" in out
