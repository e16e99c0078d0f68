"""The post-receive hook is a shell script with a pushed branch's name in it, and a log the
push must not be able to redirect."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.reconcile.helpers import mlform

BRANCH = "x$(touch${IFS}pwned)`touch${IFS}pwned2`"


def test_a_branch_name_with_shell_in_it_stays_a_name(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    worktree = tmp_path / "deployed"
    mlform(
        "hooks", "install", "--bare-repo", str(origin), "--worktree", str(worktree),
        "--branch", BRANCH, cwd=tmp_path,
    )  # fmt: skip
    hook = origin / "hooks" / "post-receive"
    zero, one = "0" * 40, "1" * 40
    for ref in (f"refs/heads/{BRANCH}", "refs/heads/main"):
        subprocess.run(
            ["sh", str(hook)],
            input=f"{zero} {one} {ref}\n",
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert sorted(p.name for p in tmp_path.rglob("pwned*")) == []
    log = origin / "mlform-reconcile.log"
    assert log.is_file()  # the branch's push was reconciled (and failed: nothing is there)
    assert BRANCH in log.read_text()


def test_the_log_is_outside_the_work_tree(tmp_path: Path) -> None:
    """A pushed symlink in the work tree cannot redirect the hook's log."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    mlform(
        "hooks", "install", "--bare-repo", str(origin), "--worktree", str(tmp_path / "w"),
        cwd=tmp_path,
    )  # fmt: skip
    text = (origin / "hooks" / "post-receive").read_text()
    assert f"--log {origin.resolve() / 'mlform-reconcile.log'}" in text
    assert str(tmp_path / "w" / ".mlform") not in text
