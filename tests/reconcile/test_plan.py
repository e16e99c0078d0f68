"""plan = f(desired, state, observed): actions, reasons, drift, protection, output shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlform.reconcile import report
from mlform.reconcile.changes import Observed, Plan
from mlform.reconcile.plan import plan
from mlform.reconcile.resources import Resource
from mlform.reconcile.state import State


def resources() -> dict[str, Resource]:
    items = [
        Resource("file", "params.yaml", {"sha256": "aa"}),
        Resource("dataset", "credit", {"target": "default"}),
        Resource(
            "training",
            "gbm",
            {"estimator": {"class": "HGB", "params": {"max_iter": 100}}},
            {"description": "trees"},
            ("dataset.credit",),
        ),
        Resource("model", "risk", {"gates": {}}, {}, ("training.gbm",)),
        Resource(
            "deployment",
            "risk-local",
            {"model": "risk", "target": "local", "local": {"host": "127.0.0.1", "port": 8080}},
            {},
            ("model.risk",),
        ),
        Resource("monitor", "risk-local", {"window": "1h"}, {}, ("deployment.risk-local",)),
    ]
    return {r.address: r for r in items}


def recorded(resources_: dict[str, Resource], tmp_path: Path) -> State:
    state = State(serial=3, lineage="lin", exists=True)
    for address, r in resources_.items():
        state.resources[address] = {
            "type": r.type,
            "name": r.name,
            "spec": r.spec,
            "meta": r.meta,
            "depends_on": list(r.depends_on),
            "prevent_destroy": r.prevent_destroy,
            "status": "applied",
            "outputs": {},
        }
    return state


def actions(made: Plan) -> dict[str, list[str]]:
    return {c.address: c.actions for c in made.changes}


def reasons(made: Plan) -> dict[str, str]:
    return {c.address: c.reason for c in made.changes if c.is_change}


def test_everything_new_is_created(tmp_path: Path) -> None:
    made = plan(resources(), State(), Observed(), "default", None)
    assert set(map(tuple, actions(made).values())) == {("create",)}
    assert made.counts() == (6, 0, 0)
    assert report.summary(made) == "Plan: 6 to add, 0 to change, 0 to destroy."


def test_nothing_changed_is_no_op(tmp_path: Path) -> None:
    made = plan(resources(), recorded(resources(), tmp_path), Observed(), "default", None)
    assert not made.has_changes
    assert report.text(made) == "No changes. Your specs and the world match the recorded state."


def test_a_hyperparameter_flows_downstream_but_not_to_monitors(tmp_path: Path) -> None:
    state = recorded(resources(), tmp_path)
    wanted = resources()
    wanted["training.gbm"] = Resource(
        "training",
        "gbm",
        {"estimator": {"class": "HGB", "params": {"max_iter": 200}}},
        {"description": "trees"},
        ("dataset.credit",),
    )
    made = plan(wanted, state, Observed(), "default", None)
    assert reasons(made) == {
        "training.gbm": "spec changed: spec.estimator.params.max_iter 100 → 200",
        "model.risk": "upstream changed: training.gbm",
        "deployment.risk-local": "upstream changed: model.risk",
    }
    text = report.text(made)
    assert '  ~ training "gbm" {\n      ~ spec.estimator.params.max_iter: 100 → 200\n    }' in text
    assert "      ~ version: (known after apply)" in text
    assert text.endswith("Plan: 0 to add, 3 to change, 0 to destroy.")


def test_metadata_only_changes_are_told_apart(tmp_path: Path) -> None:
    state = recorded(resources(), tmp_path)
    wanted = resources()
    wanted["training.gbm"] = Resource(
        "training",
        "gbm",
        wanted["training.gbm"].spec,
        {"description": "boosted trees"},
        ("dataset.credit",),
    )
    made = plan(wanted, state, Observed(), "default", None)
    (change,) = [c for c in made.changes if c.is_change]
    assert change.metadata_only and change.action_reason == "update_metadata_only"
    assert change.reason == "metadata only (nothing retrains or redeploys): metadata.description"


def test_a_new_port_replaces_the_deployment(tmp_path: Path) -> None:
    state = recorded(resources(), tmp_path)
    wanted = resources()
    spec: dict[str, Any] = {
        **wanted["deployment.risk-local"].spec,
        "local": {"host": "127.0.0.1", "port": 9090},
    }
    wanted["deployment.risk-local"] = Resource(
        "deployment", "risk-local", spec, {}, ("model.risk",)
    )
    made = plan(wanted, state, Observed(), "default", None)
    assert actions(made)["deployment.risk-local"] == ["delete", "create"]
    assert '-/+ deployment "risk-local"' in report.text(made)
    assert made.counts() == (1, 0, 1)


def test_what_left_the_specs_is_destroyed_unless_protected(tmp_path: Path) -> None:
    state = recorded(resources(), tmp_path)
    wanted = resources()
    del wanted["monitor.risk-local"]
    made = plan(wanted, state, Observed(), "default", None)
    assert (
        actions(made)["monitor.risk-local"] == ["delete"]
        and reasons(made)["monitor.risk-local"] == "no longer declared"
    )
    state.resources["monitor.risk-local"]["prevent_destroy"] = True
    blocked = plan(wanted, state, Observed(), "default", None)
    assert blocked.errors == [
        "monitor.risk-local has prevent_destroy set and would be destroyed (no longer declared); remove the protection from its spec or environment first"
    ]
    assert blocked.to_json()["applyable"] is False


def test_drift_is_reported_and_repaired(tmp_path: Path) -> None:
    state = recorded(resources(), tmp_path)
    made = plan(
        resources(),
        state,
        Observed(drift={"deployment.risk-local": "the local server is not running"}),
        "default",
        None,
    )
    assert reasons(made) == {
        "deployment.risk-local": "changed outside of mlform: the local server is not running"
    }
    assert [d.address for d in made.drift] == ["deployment.risk-local"]
    assert made.to_json()["resource_drift"][0]["change"]["actions"] == ["update"]


def test_plan_json_is_terraform_shaped_and_round_trips(tmp_path: Path) -> None:
    made = plan(resources(), recorded(resources(), tmp_path), Observed(), "prod", "abc")
    data = made.to_json()
    assert {
        "format_version",
        "applyable",
        "complete",
        "errored",
        "resource_changes",
        "resource_drift",
        "checks",
        "prior_state",
    } <= set(data)
    first = data["resource_changes"][0]
    assert {"address", "type", "name", "action_reason", "change"} <= set(first) and first["change"][
        "actions"
    ] == ["no-op"]
    again = Plan.from_json(json.loads(json.dumps(data)))
    assert (again.serial, again.lineage, again.environment, again.revision) == (
        3,
        "lin",
        "prod",
        "abc",
    )
    assert [c.actions for c in again.changes] == [c.actions for c in made.changes]


def test_markdown_is_cut_before_the_comment_limit(tmp_path: Path) -> None:
    many = {
        f"dataset.d{i:04d}": Resource("dataset", f"d{i:04d}", {"x": "y" * 200}) for i in range(2000)
    }
    text = report.markdown(plan(many, State(), Observed(), "default", None))
    assert len(text) < 65_000
    assert text.endswith(
        "> The plan was cut at 65,000 characters to fit a comment; run `mlform plan` for all of it."
    )
    assert text.startswith(
        "### mlform plan — `default`\n\n**Plan: 2000 to add, 0 to change, 0 to destroy.**"
    )


def test_an_unchanged_resource_shares_its_record_and_a_changed_one_does_not() -> None:
    """What keeps a 10,000-model plan in memory: one copy of each unchanged spec."""
    ours = resources()["training.gbm"]
    record = {
        "spec": json.loads(json.dumps(ours.spec)),  # equal, not the same object
        "meta": {"description": "trees"},
        "spec_hash": ours.spec_hash,
        "meta_hash": ours.meta_hash,
    }
    shared = ours.sharing(record)
    assert shared.spec is record["spec"] and shared.meta is record["meta"]
    assert (shared.spec_hash, shared.meta_hash) == (ours.spec_hash, ours.meta_hash)
    assert shared.address == ours.address and shared.depends_on == ours.depends_on
    edited = {**record, "spec": {"estimator": {}}, "spec_hash": "0" * 16}
    assert ours.sharing(edited) is ours
    assert ours.sharing({**record, "meta_hash": "0" * 16}) is ours
    assert ours.sharing(None) is ours
