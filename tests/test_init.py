"""`mlform init`: a new project or an example copy, ready to validate and compile."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run


def test_new_project_validates(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("init", "My Project", "--no-git", cwd=tmp_path)
    assert result.code == 0
    root = tmp_path / "My Project"
    assert "name: my-project" in (root / "mlform.yaml").read_text()
    assert (root / "schemas" / "mlform.schema.json").is_file()
    assert (root / ".pre-commit-config.yaml").is_file()
    assert run_cli("validate", cwd=root).out == "Success! 1 document in 1 file is valid.\n"


def test_example_copy_compiles_and_points_editors_at_its_schemas(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    assert run_cli("init", "demo", "--example", "credit-risk", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    assert (
        (root / "mlform.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=schemas/mlform.schema.json\n")
    )
    assert (
        (root / "ml" / "dataset.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schemas/mlform.schema.json\n")
    )
    specs = sorted([root / "mlform.yaml", *root.glob("ml/*.yaml"), *root.glob("environments/*")])
    lines = {p.relative_to(root).as_posix(): p.read_text().splitlines()[0] for p in specs}
    assert lines == {
        "mlform.yaml": "# yaml-language-server: $schema=schemas/mlform.schema.json",
        **{
            f"ml/{name}.yaml": "# yaml-language-server: $schema=../schemas/mlform.schema.json"
            for name in ("dataset", "deployment", "features", "model", "monitor", "retrain")
        },
        "ml/training.yaml": "# yaml-language-server: $schema=../schemas/mlform.schema.json",
        **{
            f"environments/{env}.yaml": (
                "# yaml-language-server: $schema=../schemas/overlay.schema.json"
            )
            for env in ("prod", "staging")
        },
    }
    assert (root / "schemas" / "overlay.schema.json").is_file()
    assert json.loads((root / ".vscode" / "settings.json").read_text()) == {
        "yaml.schemas": {
            "./schemas/mlform.schema.json": ["mlform.yaml", "ml/**/*.yaml", "ml/**/*.yml"],
            "./schemas/overlay.schema.json": [
                "environments/staging.yaml",
                "environments/prod.yaml",
            ],
        }
    }
    assert run_cli("validate", cwd=root).code == 0
    assert run_cli("compile", "--check", cwd=root).code == 0


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine\n")
    result = run_cli("init", "busy", "--no-git", cwd=tmp_path)
    assert result.code == 1
    assert result.err == "Error: busy is not empty\nUse --force to write into it anyway.\n"
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_unknown_example(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("init", "x", "--example", "fraud", "--no-git", cwd=tmp_path)
    assert result.code == 1
    assert (
        result.err
        == "Error: unknown example 'fraud'; available: credit-risk, diabetes-regression\n"
    )


def test_init_sets_up_git_and_dvc(
    tmp_path: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    def git(*args: str, cwd: Path) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout

    config = tmp_path / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = master\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))  # the branch is main all the same
    assert run_cli("init", "demo", "--example", "credit-risk", cwd=tmp_path).code == 0
    root = tmp_path / "demo"
    assert (root / ".git").is_dir() and (root / ".dvc").is_dir()
    assert (root / ".gitignore").read_text() == (
        "# mlform: what each checkout keeps for itself (outputs travel through the DVC remote)\n"
        "/.mlform/\n/artifacts/\n/deploy/\n"
    )
    assert git("log", "--format=%s", cwd=root) == "mlform init\n"  # versions can be tagged
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=root) == "main\n"
    assert git("status", "--porcelain", cwd=root) == ""
    # inside another repository: a repository of its own; the enclosing one is not touched
    assert run_cli("init", "nested", cwd=root).code == 0
    assert (root / "nested" / ".git").is_dir() and (root / "nested" / ".dvc").is_dir()
    assert git("log", "--format=%s", cwd=root / "nested") == "mlform init\n"
    assert git("log", "--format=%s", cwd=root) == "mlform init\n"
    assert git("status", "--porcelain", cwd=root) == "?? nested/\n"
    # --subproject: a folder of the enclosing repository, DVC in it, nothing staged there
    plain = tmp_path / "plain"
    plain.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=plain, check=True)
    assert run_cli("init", "ml-project", "--subproject", cwd=plain).code == 0
    assert (plain / "ml-project" / ".dvc").is_dir() and not (plain / "ml-project" / ".git").exists()
    assert git("diff", "--cached", "--name-only", cwd=plain) == ""
    alone = tmp_path / "alone"
    alone.mkdir()
    refused = run_cli("init", "x", "--subproject", cwd=alone)
    assert refused.code == 1 and "--subproject: x is not inside a git repository" in refused.err
