"""The state backends' contract, with real git (a bare origin and two clones) and a real
PostgreSQL: compare-and-swap writes, one lock holder, a dead holder's lock taken over
(lease run out, session ended), force-unlock; and `mlform state` pull, push, migrate."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlform.errors import UserError
from mlform.reconcile.backends import Backend, StateConflict, lock_info
from mlform.reconcile.backends.gitrefs import GitBackend
from mlform.reconcile.backends.postgres import PostgresBackend
from mlform.reconcile.state import State, hold
from mlform.spec.project import GitState, PostgresState
from tests.conftest import Run, build_tree
from tests.postgres import postgres

__all__ = ["postgres"]


def _clones(tmp_path: Path) -> tuple[Path, Path]:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    clones = []
    for name in ("a", "b"):
        clone = tmp_path / name
        subprocess.run(
            ["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True
        )
        clones.append(clone)
    return clones[0], clones[1]


@pytest.fixture(params=["git", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Backend, Backend]]:
    """Two machines' view of one backend."""
    if request.param == "git":
        a, b = _clones(tmp_path)
        yield GitBackend(a, GitState(lease="2s")), GitBackend(b, GitState(lease="2s"))
        return
    dsn = request.getfixturevalue("postgres")
    table = f"state_{request.node.name.split('[')[0][-20:].strip('_')}".lower()
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFORM_TEST_DSN", dsn)
    config = PostgresState(dsn_env="MLFORM_TEST_DSN", table=table)
    try:
        yield PostgresBackend(config), PostgresBackend(config)
    finally:
        mp.undo()


def test_a_write_lands_only_on_what_was_read(pair: tuple[Backend, Backend]) -> None:
    a, b = pair
    first = State(a, "prod")
    first.resources["dataset.x"] = {"type": "dataset", "name": "x"}
    first.save()
    seen_by_b = State.read(b, "prod")
    assert (seen_by_b.serial, seen_by_b.lineage) == (1, first.lineage)
    first.save()  # a writes again
    seen_by_b.applied_revision = "stale"
    with pytest.raises(StateConflict, match="changed since it was read"):
        seen_by_b.save()
    assert State.read(a, "prod").applied_revision is None  # nothing was overwritten
    assert a.environments() == ["prod"]


def test_one_holder_at_a_time_named_to_the_second(pair: tuple[Backend, Backend]) -> None:
    a, b = pair
    with hold(a, "prod", "apply", 0) as held:
        with pytest.raises(UserError) as refused, hold(b, "prod", "plan", 0.5):
            pass
        assert f"ID {held.info['ID']}" in refused.value.message
        assert b.read_lock("prod") is not None
    with hold(b, "prod", "apply", 0):  # released: free for the other machine
        pass


def test_force_unlock_frees_a_lock_by_its_id(pair: tuple[Backend, Backend]) -> None:
    a, b = pair
    with hold(a, "prod", "apply", 0) as held:
        with pytest.raises(UserError, match="not nope"):
            b.force_unlock("prod", "nope")
        assert b.force_unlock("prod", held.info["ID"])["ID"] == held.info["ID"]
        with hold(b, "prod", "apply", 5):
            pass


HOLD_AND_DIE = """
import os, signal, sys, time
from pathlib import Path
from mlform.reconcile.backends import lock_info
from mlform.spec.project import GitState, PostgresState
kind, where = sys.argv[1], sys.argv[2]
if kind == "git":
    from mlform.reconcile.backends.gitrefs import GitBackend
    backend = GitBackend(Path(where), GitState(lease="2s"))
else:
    from mlform.reconcile.backends.postgres import PostgresBackend
    backend = PostgresBackend(PostgresState(dsn_env="MLFORM_TEST_DSN", table=where))
with backend.lock("prod", lock_info("apply", "x"), 0, print):
    print("held", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_holders_lock_is_taken_over_on_another_machine(
    pair: tuple[Backend, Backend],
) -> None:
    a, b = pair
    where = str(a.git.cwd) if isinstance(a, GitBackend) else a.table  # type: ignore[attr-defined]
    kind = "git" if isinstance(a, GitBackend) else "postgres"
    killed = subprocess.run(
        [sys.executable, "-c", HOLD_AND_DIE, kind, where],
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9 and "held" in killed.stdout
    notices: list[str] = []
    started = time.monotonic()
    with hold(b, "prod", "apply", 30, notices.append):
        waited = time.monotonic() - started
    if kind == "git":  # the lease (2 s) had to run out, then the lock was taken over
        assert 0.5 < waited < 15
        assert notices and notices[0].startswith("Took over the lock")
    else:  # the server ended the session: the advisory lock was free at once
        assert waited < 5


def test_state_pull_push_and_migrate(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    a, _ = _clones(tmp_path)
    build_tree(
        a,
        {
            "mlform.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: p}\n"
            "spec: {specs: [ml], state: {backend: local}}\n",
            "ml/.keep": "",
        },
    )
    local = State.load(a, "default")
    local.resources["dataset.x"] = {"type": "dataset", "name": "x", "spec_hash": "h"}
    local.save()
    pulled = run_cli("state", "pull", cwd=a)
    assert pulled.code == 0 and json.loads(pulled.out)["resources"]["dataset.x"]["spec_hash"] == "h"
    project = a / "mlform.yaml"
    project.write_text(project.read_text().replace(", state: {backend: local}", ""))
    # the default (auto) is git in a clone of origin: the state left here is not forgotten
    stranded = run_cli("plan", cwd=a)
    assert stranded.code == 1
    assert (
        f"Error: the state of 'default' is in this checkout ({a}/.mlform/state/default.json), "
        "but the repository now has the git remote the team's state lives in "
        "(state.backend: auto means git here): refs/mlform/state/default on origin has none yet"
        in stranded.err
    ), stranded.err
    assert "`mlform state migrate --from local`" in stranded.err
    moved = run_cli("state", "migrate", "--from", "local", cwd=a)
    assert moved.code == 0, moved.out + moved.err
    assert "default: serial 2 → refs/mlform/state/default on origin" in moved.out
    assert run_cli("plan", cwd=a).code == 0
    listed = run_cli("state", "list", cwd=a)
    assert "refs/mlform/state/default on origin" in listed.out
    document = json.loads(run_cli("state", "pull", cwd=a).out)
    document["applied_revision"] = "abc"
    (tmp_path / "s.json").write_text(json.dumps(document))
    stale = run_cli("state", "push", str(tmp_path / "s.json"), cwd=a)
    assert stale.code == 1 and "is not newer than the state's" in stale.err
    document["serial"] += 1
    (tmp_path / "s.json").write_text(json.dumps(document))
    assert run_cli("state", "push", str(tmp_path / "s.json"), cwd=a).code == 0
    assert json.loads(run_cli("state", "pull", cwd=a).out)["applied_revision"] == "abc"
    other = dict(document, lineage="another")
    (tmp_path / "s.json").write_text(json.dumps(other))
    refused = run_cli("state", "push", str(tmp_path / "s.json"), cwd=a)
    assert refused.code == 1 and "is not the state's" in refused.err


def test_a_lock_info_names_who_and_what() -> None:
    info = lock_info("apply", "somewhere")
    assert set(info) == {"ID", "Operation", "Who", "Version", "Created", "Path"}
    assert info["Operation"] == "apply" and info["Path"] == "somewhere"


def test_a_holder_whose_lock_was_forced_writes_nothing(pair: tuple[Backend, Backend]) -> None:
    a, b = pair
    mine = State(a, "prod")
    mine.save()
    with hold(a, "prod", "apply", 0) as held:
        mine.held = held
        b.force_unlock("prod", held.info["ID"])
        with pytest.raises(UserError, match=f"the lock {held.info['ID']} was lost"):
            mine.save()
    assert State.read(b, "prod").serial == 1


def test_a_version_name_taken_on_the_remote_is_not_kept(tmp_path: Path) -> None:
    """Two runners that registered the same version name: the second learns it at the push,
    before anything serves it, and keeps nothing."""
    from mlform.registry import Registry
    from tests.pipeline_helpers import git

    a, b = _clones(tmp_path)
    (a / "f").write_text("x\n")
    git("add", "f", cwd=a)
    git("commit", "-qm", "one", cwd=a)
    git("push", "-q", "origin", "HEAD:main", cwd=a)
    git("pull", "-q", "origin", "main", cwd=b)
    first = Registry(a).register("m", "v0.1.0", {"sha256": "aaa"}, push_to="origin")
    assert first.record["sha256"] == "aaa"
    with pytest.raises(UserError, match=r"m@v0\.1\.0 was registered on origin by another apply"):
        Registry(b).register("m", "v0.1.0", {"sha256": "bbb"}, push_to="origin")
    kept = Registry(b).versions("m")
    assert [(v.version, v.record["sha256"]) for v in kept] == [("v0.1.0", "aaa")]  # A's, fetched


@pytest.mark.parametrize(
    "dsn",
    [
        "sk-SECRET-abc123",  # a PR pointed dsn_env at another secret: psycopg quotes it back
        "postgresql://mlform:topsecret@127.0.0.1:1/db",
        "host=127.0.0.1 port=1 user=mlform password=topsecret dbname=db",
    ],
)
def test_the_connection_string_never_reaches_a_message(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("MLFORM_STATE_DSN", dsn)
    backend = PostgresBackend(PostgresState())
    with pytest.raises(UserError) as raised:
        backend.read("default")
    message = raised.value.message
    assert message.startswith("cannot connect to the state database ($MLFORM_STATE_DSN): ")
    assert "SECRET" not in message and "topsecret" not in message, message


def test_a_spec_names_only_mlform_variables() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="MLFORM_"):
        PostgresState(dsn_env="AWS_SECRET_ACCESS_KEY")
