"""A symlink where mlform renders (a pushed `dvc.yaml` → /etc/…) is refused the same way by
validate, compile and plan, before anything is written; the link's target is untouched."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, copy_example

E013 = (
    "error E013: mlform renders this path and never writes through a symlink: "
    "remove the link (`mlform compile` writes the file)"
)


@pytest.mark.parametrize(
    "link",
    [
        "dvc.yaml",
        "params.yaml",
        "monitoring/rules/credit-risk-local.rules.yml",
        "monitoring/rules",
        "pipelines/prod/dvc.yaml",
        ".mlform",
    ],
)
def test_validate_compile_and_plan_agree_on_a_symlinked_output(
    tmp_path: Path, run_cli: Callable[..., Run], link: str
) -> None:
    root = copy_example("credit-risk", tmp_path / "p")
    victim = tmp_path / "victim"
    victim.write_text("someone else's file\n")
    path = root / link
    if path.is_file():
        path.unlink()
    else:  # a folder (or .mlform, which a copied example has not made yet)
        shutil.rmtree(path, ignore_errors=True)
        victim.unlink()
        victim.mkdir()
    path.symlink_to(victim)
    for command in ("validate", "compile", "plan"):
        done = run_cli(command, cwd=root)
        assert done.code == 1, (command, done.out, done.err)
        assert f"{link}: {E013}" in done.out, (command, done.out)
    if victim.is_dir():
        assert list(victim.iterdir()) == []
    else:
        assert victim.read_text() == "someone else's file\n"


def test_a_symlink_inside_a_rules_folder_is_one_error(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    root = copy_example("credit-risk", tmp_path / "p")
    (root / "monitoring" / "rules" / "extra.yml").symlink_to("/etc/hostname")
    done = run_cli("validate", cwd=root)
    assert done.code == 1
    assert done.out.splitlines()[0] == f"monitoring/rules/extra.yml: {E013}"
    assert "Found 1 error" in done.out


@pytest.mark.parametrize("inside", ["checkout-id", "state"])
def test_a_link_committed_inside_mlform_is_refused_before_plan_writes(
    tmp_path: Path, run_cli: Callable[..., Run], inside: str
) -> None:
    """A pull request force-adds `.mlform/checkout-id` → a file elsewhere: plan (which runs
    on unreviewed pull requests) would create it."""
    root = copy_example("credit-risk", tmp_path / "p")
    (root / ".mlform").mkdir()
    target = tmp_path / "outside" / "pwned-by-pr"
    (root / ".mlform" / inside).symlink_to(target)
    for command in ("validate", "plan"):
        done = run_cli(command, cwd=root)
        assert done.code == 1
        assert f".mlform/{inside}: {E013}" in done.out
    assert not target.exists() and not target.parent.exists()
