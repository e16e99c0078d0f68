"""The wheel ships templates/, schemas/ and examples/: built, installed into a fresh venv
outside the repository, and used there."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO, copy_example

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_installs_and_compiles_outside_the_repo(tmp_path: Path) -> None:
    run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", REPO, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("mlform-*.whl")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    # The dependencies come from this test environment (appended after the venv's own
    # site-packages), so the mlform imported is the wheel's.
    site = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    ).strip()
    Path(site, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = run(python, "-c", "import mlform, sys; print(mlform.__file__)", cwd=tmp_path).strip()
    assert where.startswith(str(venv)), where

    project = copy_example("credit-risk", tmp_path / "project")
    golden = {name: (project / name).read_text() for name in ("dvc.yaml", "params.yaml")}
    for name in golden:
        (project / name).unlink()
    run(venv / "bin" / "mlform", "compile", cwd=project)
    assert {name: (project / name).read_text() for name in golden} == golden
    run(
        venv / "bin" / "mlform",
        "init",
        "fresh",
        "--example",
        "diabetes-regression",
        "--no-git",
        cwd=tmp_path,
    )
    assert run(venv / "bin" / "mlform", "compile", "--check", cwd=tmp_path / "fresh").endswith(
        "up to date (4 files).\n"
    )
    assert (EXAMPLES / "diabetes-regression" / "dvc.yaml").read_text() == (
        tmp_path / "fresh" / "dvc.yaml"
    ).read_text()
