"""`mlform init`: a new project or an example copy, ready to validate and compile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run


def test_new_project_validates(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("init", "My Project", cwd=tmp_path)
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
    assert run_cli("validate", cwd=root).code == 0
    assert run_cli("compile", "--check", cwd=root).code == 0


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine\n")
    result = run_cli("init", "busy", cwd=tmp_path)
    assert result.code == 1
    assert result.err == "Error: busy is not empty\nUse --force to write into it anyway.\n"
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_unknown_example(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("init", "x", "--example", "fraud", cwd=tmp_path)
    assert result.code == 1
    assert (
        result.err
        == "Error: unknown example 'fraud'; available: credit-risk, diabetes-regression\n"
    )
