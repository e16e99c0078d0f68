"""State files, locks, environments and the plan command, without running the pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlform.errors import UserError
from mlform.reconcile.state import State, force_unlock, locked, read_lock
from tests.conftest import Run


def test_state_is_saved_atomically_with_a_backup(tmp_path: Path) -> None:
    folder = tmp_path / ".mlform/state"
    state = State.load(tmp_path, "prod")
    assert not state.exists and state.serial == 0
    state.resources["dataset.x"] = {"type": "dataset", "name": "x"}
    state.save()
    state.applied_revision = "abc"
    state.resources["dataset.y"] = {"type": "dataset", "name": "y"}
    state.save()
    again = State.load(tmp_path, "prod")
    assert (again.serial, again.lineage, again.applied_revision) == (2, state.lineage, "abc")
    assert set(again.resources) == {"dataset.x", "dataset.y"}
    # the second save wrote what changed (one journal line), not the whole state
    assert json.loads((folder / "prod.json").read_text())["serial"] == 1
    (line,) = (folder / "prod.journal").read_text().splitlines()
    assert json.loads(line)["resources"] == {"dataset.y": {"type": "dataset", "name": "y"}}
    assert json.loads(line)["applied_revision"] == "abc"
    # a new snapshot (here: a replaced state) keeps the whole previous state as the backup
    again.serial += 5
    again.save()
    backup = json.loads((folder / "prod.json.backup").read_text())
    assert backup["serial"] == 2 and backup["applied_revision"] == "abc"
    assert set(backup["resources"]) == {"dataset.x", "dataset.y"}
    assert not (folder / "prod.journal").exists()
    assert State.load(tmp_path, "prod").serial == 8
    assert not list(folder.glob(".*tmp*"))


def test_a_save_writes_what_changed_and_a_removed_resource_is_removed(tmp_path: Path) -> None:
    state = State.load(tmp_path, "prod")
    for name in ("a", "b", "c"):
        state.resources[f"model.{name}"] = {"type": "model", "name": name, "outputs": {}}
    state.save()
    state.resources["model.a"]["outputs"]["version"] = "v1"  # changed in place
    del state.resources["model.b"]
    state.save()
    (line,) = (tmp_path / ".mlform/state/prod.journal").read_text().splitlines()
    assert json.loads(line)["resources"] == {
        "model.a": {"type": "model", "name": "a", "outputs": {"version": "v1"}},
        "model.b": None,
    }
    again = State.load(tmp_path, "prod")
    assert again.resources == state.resources and again.serial == 2


def test_a_journal_line_cut_short_by_a_kill_is_not_part_of_the_state(tmp_path: Path) -> None:
    state = State.load(tmp_path, "prod")
    state.resources["model.a"] = {"type": "model", "name": "a"}
    state.save()
    state.resources["model.b"] = {"type": "model", "name": "b"}
    state.save()
    journal = tmp_path / ".mlform/state/prod.journal"
    with journal.open("a") as handle:  # what a kill during the third save leaves
        handle.write('{"serial":3,"resources":{"model.c":')
    again = State.load(tmp_path, "prod")
    assert again.serial == 2 and set(again.resources) == {"model.a", "model.b"}
    again.resources["model.d"] = {"type": "model", "name": "d"}
    again.save()  # the torn line goes; the next entry follows the last complete one
    final = State.load(tmp_path, "prod")
    assert final.serial == 3 and set(final.resources) == {"model.a", "model.b", "model.d"}
    assert len(journal.read_text().splitlines()) == 2


def test_a_journal_as_big_as_its_snapshot_is_compacted(tmp_path: Path) -> None:
    from mlform.reconcile.backends import journal

    state = State.load(tmp_path, "prod")
    state.resources["model.a"] = {"type": "model", "name": "a", "blob": ""}
    state.save()
    for round_ in range(journal.MAX_ENTRIES + 1):
        state.resources["model.a"]["blob"] = str(round_)
        state.save()
    lines = (tmp_path / ".mlform/state/prod.journal").read_text().splitlines()
    assert len(lines) < journal.MAX_ENTRIES
    assert State.load(tmp_path, "prod").resources["model.a"]["blob"] == str(journal.MAX_ENTRIES)


def test_a_writer_that_lost_the_race_is_refused(tmp_path: Path) -> None:
    from mlform.reconcile.backends import StateConflict

    first = State.load(tmp_path, "prod")
    first.save()
    a, b = State.load(tmp_path, "prod"), State.load(tmp_path, "prod")
    a.resources["model.a"] = {"type": "model", "name": "a"}
    a.save()
    b.resources["model.b"] = {"type": "model", "name": "b"}
    with pytest.raises(StateConflict):
        b.save()
    assert set(State.load(tmp_path, "prod").resources) == {"model.a"}


def test_a_corrupt_state_file_is_reported_and_left_alone(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    path = credit / ".mlform/state/default.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "serial": ')
    result = run_cli("plan", cwd=credit)
    assert result.code == 1
    assert result.err.startswith(f"Error: the state file {path} is corrupt (")
    assert "restore the previous state from default.json.backup" in result.err
    assert path.read_text() == '{"version": 1, "serial": '


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    with (
        locked(tmp_path, "default", "apply", timeout=0) as held,
        pytest.raises(UserError) as refused,
        locked(tmp_path, "default", "plan", timeout=0.3),
    ):
        pass
    assert (
        f"the 'default' environment is locked by {held.info['Who']} (apply, since {held.info['Created']}, ID {held.info['ID']})"
        == refused.value.message
    )
    assert "mlform force-unlock ID" in refused.value.hint
    assert read_lock(tmp_path, "default") is None  # released


def test_a_lock_of_a_dead_process_is_detected_and_removed(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    path = tmp_path / ".mlform/state/default.lock"
    path.parent.mkdir(parents=True)
    import socket

    path.write_text(
        json.dumps(
            {
                "ID": "old",
                "Who": "ci@runner",
                "Operation": "apply",
                "Created": "then",
                "pid": process.pid,
                "host": socket.gethostname(),
            }
        )
    )
    notices: list[str] = []
    with locked(tmp_path, "default", "apply", timeout=0, notice=notices.append):
        assert read_lock(tmp_path, "default")["pid"] == os.getpid()  # type: ignore[index]
    assert notices == [f"Removed a stale lock old of ci@runner (process {process.pid} is gone)."]


def test_force_unlock(tmp_path: Path) -> None:
    path = tmp_path / ".mlform/state/default.lock"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "ID": "abc",
                "Who": "me",
                "Operation": "apply",
                "Created": "now",
                "pid": 1,
                "host": "elsewhere",
            }
        )
    )
    with pytest.raises(UserError, match="has ID abc, not xyz"):
        force_unlock(tmp_path, "default", "xyz")
    assert force_unlock(tmp_path, "default", "abc")["Who"] == "me"
    assert not path.exists()


def test_plan_exit_codes_formats_and_saved_plans(
    credit: Path, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    result = run_cli("plan", "--detailed-exitcode", cwd=credit)
    assert result.code == 2
    assert result.out.rstrip().endswith("Plan: 11 to add, 0 to change, 0 to destroy.")
    data = json.loads(run_cli("plan", "--format", "json", cwd=credit).out)
    assert data["format_version"] == "1.2" and data["applyable"] is True
    assert [c["address"] for c in data["resource_changes"]][:5] == [
        'file["dvc.yaml"]',
        'file["monitoring/rules/credit-risk-local.rules.yml"]',
        'file["monitoring/rules/credit-risk-local.test.yml"]',
        'file["params.yaml"]',
        "dataset.credit",
    ]
    markdown = run_cli("plan", "--format", "markdown", cwd=credit).out
    assert markdown.startswith(
        "### mlform plan — `default`\n\n**Plan: 11 to add, 0 to change, 0 to destroy.**"
    )
    saved = tmp_path / "plan.json"
    assert run_cli("plan", "--out", str(saved), cwd=credit).code == 0
    shown = run_cli("show", str(saved), cwd=credit)
    assert shown.out.rstrip().endswith("Plan: 11 to add, 0 to change, 0 to destroy.")
    assert (
        json.loads(run_cli("show", str(saved), "--json", cwd=credit).out)["prior_state"]["serial"]
        == 0
    )
    # someone applied meanwhile: the saved plan is stale
    state = State.load(credit, "default")
    state.save()
    stale = run_cli("apply", str(saved), cwd=credit)
    assert stale.code == 1
    assert stale.err.startswith(
        "Error: Saved plan is stale: the state moved on since it was made (serial 0 → 1)"
    )


def test_apply_without_a_terminal_needs_auto_approve(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    result = run_cli("apply", cwd=credit)
    assert result.code == 1
    assert result.err.startswith(
        "Error: apply needs confirmation, but there is no terminal to ask on"
    )


def test_environments_patch_the_specs(credit: Path, run_cli: Callable[..., Run]) -> None:
    prod = json.loads(run_cli("plan", "--env", "prod", "--format", "json", cwd=credit).out)
    addresses = [c["address"] for c in prod["resource_changes"]]
    assert "deployment.credit-risk-prod" in addresses  # declared for prod only
    model = next(c for c in prod["resource_changes"] if c["address"] == "model.credit-risk")
    assert model["change"]["after"]["spec"]["gates"]["metrics"]["roc_auc"] == {"min": 0.72}
    default = json.loads(run_cli("plan", "--format", "json", cwd=credit).out)
    assert "deployment.credit-risk-prod" not in [c["address"] for c in default["resource_changes"]]
    staging = json.loads(run_cli("plan", "--env", "staging", "--format", "json", cwd=credit).out)
    local = next(
        c for c in staging["resource_changes"] if c["address"] == "deployment.credit-risk-local"
    )
    assert local["change"]["after"]["spec"]["local"]["port"] == 8086
    unknown = run_cli("plan", "--env", "production", cwd=credit)
    assert unknown.code == 1 and unknown.err.startswith(
        "Error: unknown environment 'production' — did you mean 'prod'?"
    )


def test_an_invalid_overlay_is_located_in_the_overlay(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    (credit / "environments/prod.yaml").write_text(
        "apiVersion: mlform/v1\nkind: Model\nmetadata:\n  name: credit-risk\nspec:\n  gates:\n    metrics:\n      roc_auc: {min: high}\n"
    )
    result = run_cli("plan", "--env", "prod", cwd=credit)
    assert result.code == 1
    assert (
        "environments/prod.yaml:8:22: error E103: Model 'credit-risk' (overlay): spec.gates.metrics.roc_auc.min: expected a number, got the string 'high'"
        in result.out
    )


def test_init_writes_ci_workflows(credit: Path, run_cli: Callable[..., Run]) -> None:
    import yaml

    assert (
        run_cli("init", str(credit), "--ci", "github", "--env", "prod", cwd=credit.parent).code == 0
    )
    workflow = yaml.safe_load((credit / ".github/workflows/mlform.yml").read_text())
    steps = [s.get("run") for s in workflow["jobs"]["plan"]["steps"]]
    assert "mlform plan --all-envs --format markdown > plan.md" in steps  # every environment
    assert "mlform validate" in steps
    assert "mlform apply --env prod --auto-approve --no-serve --lock-timeout 10m" in [
        s.get("run") for s in workflow["jobs"]["apply"]["steps"]
    ]
    assert run_cli("init", str(credit), "--ci", "gitlab", cwd=credit.parent).code == 0
    gitlab = yaml.safe_load((credit / ".gitlab-ci.yml").read_text())
    assert gitlab["mlform-apply"]["script"][-1] == (
        "mlform apply --auto-approve --no-serve --lock-timeout 10m"
    )
