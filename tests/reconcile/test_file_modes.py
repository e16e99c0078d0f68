"""State and saved plans hold what the reconciler knows about every resource: they are
their owner's only (0600), whatever the umask — even umask 000."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlform.fsutil import write_atomic
from mlform.reconcile.backends.local import LocalBackend
from tests.conftest import copy_example
from tests.reconcile.helpers import mlform


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_the_local_state_and_its_backup_are_private(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    token = backend.write("default", {"serial": 1}, None)
    backend.write("default", {"serial": 2}, token)
    state = backend.path("default")
    assert mode(state) == "-rw-------"
    assert mode(state.with_name("default.json.backup")) == "-rw-------"
    assert mode(state.parent) == "drwx------"
    with backend.lock("default", {"ID": "x"}, 0, print):
        assert mode(backend.lock_path("default")) == "-rw-------"


@pytest.mark.usefixtures("open_umask")
def test_a_saved_plan_is_private(tmp_path: Path) -> None:
    root = copy_example("diabetes-regression", tmp_path / "p")
    mlform("init", str(root), "--force", cwd=tmp_path)  # its own git repository
    mlform("plan", "--out", "plan.json", cwd=root)
    assert mode(root / "plan.json") == "-rw-------"


@pytest.mark.usefixtures("open_umask")
def test_a_private_file_made_public_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"{}")
    path.chmod(0o644)
    write_atomic(path, b"{}", 0o600)  # same bytes, wrong mode: rewritten
    assert mode(path) == "-rw-------"
    write_atomic(tmp_path / "rules.yml", b"x")
    assert mode(tmp_path / "rules.yml") == "-rw-rw-rw-"  # the umask's default, as before


@pytest.mark.usefixtures("open_umask")
def test_the_local_folder_is_private(tmp_path: Path) -> None:
    """Under umask 000 another local user could replace state files or plant a server.json
    for `server stop` to signal: .mlform/ is 0700, and narrowed when found wider."""
    root = copy_example("diabetes-regression", tmp_path / "p")
    mlform("init", str(root), "--force", cwd=tmp_path)
    (root / ".mlform").mkdir(mode=0o777, exist_ok=True)
    (root / ".mlform").chmod(0o777)
    mlform("plan", cwd=root)
    assert mode(root / ".mlform") == "drwx------"
    assert mode(root / ".mlform" / "checkout-id") == "-rw-------"
