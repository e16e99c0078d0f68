"""--target, --exclude, --selector: which part of the graph a plan covers (a pure function of
the desired resources and the state), the label selector's grammar, and the plan's record
of its targeting."""

from __future__ import annotations

import json

import pytest

from mlform.errors import UserError
from mlform.reconcile import report
from mlform.reconcile.changes import Observed, Plan
from mlform.reconcile.plan import plan
from mlform.reconcile.resources import Resource
from mlform.reconcile.selection import Request, narrow, select, total
from mlform.reconcile.selector import parse
from mlform.reconcile.state import State

RULES = "monitoring/rules/a-local.rules.yml"
TESTS = "monitoring/rules/a-local.test.yml"


def _team(team: str, **more: str) -> dict[str, object]:
    return {"labels": {"team": team, **more}}


def two_teams() -> dict[str, Resource]:
    """Team a's chain with a local deployment, a monitor and a retrain policy; team b's
    chain with a cluster deployment; the shared pipeline files."""
    items = [
        Resource("file", "dvc.yaml", {"sha256": "1"}),
        Resource("file", "params.yaml", {"sha256": "2"}),
        Resource("file", RULES, {"sha256": "3"}),
        Resource("file", TESTS, {"sha256": "4"}),
        Resource("dataset", "a", {"v": 1}, _team("a")),
        Resource("featureset", "a-f", {"v": 1}, _team("a"), ("dataset.a",)),
        Resource("training", "a-t", {"v": 1}, _team("a"), ("dataset.a", "featureset.a-f")),
        Resource("model", "a", {"v": 1}, _team("a", tier="gold"), ("training.a-t",)),
        Resource("deployment", "a-local", {"target": "local"}, _team("a"), ("model.a",)),
        Resource("monitor", "a-local", {"v": 1}, _team("a"), ("deployment.a-local",)),
        Resource("retrain", "a-r", {"v": 1}, {}, ("model.a",)),
        Resource("dataset", "b", {"v": 1}, _team("b")),
        Resource("featureset", "b-f", {"v": 1}, _team("b"), ("dataset.b",)),
        Resource("training", "b-t", {"v": 1}, _team("b"), ("dataset.b", "featureset.b-f")),
        Resource("model", "b", {"v": 1}, _team("b", tier="silver"), ("training.b-t",)),
        Resource("deployment", "b-triton", {"target": "triton"}, _team("b"), ("model.b",)),
    ]
    return {r.address: r for r in items}


PIPELINE_FILES = {'file["dvc.yaml"]', 'file["params.yaml"]'}
CHAIN_A = {"dataset.a", "featureset.a-f", "training.a-t", "model.a"}
CHAIN_B = {"dataset.b", "featureset.b-f", "training.b-t", "model.b"}
MONITOR_A = {"monitor.a-local", f'file["{RULES}"]', f'file["{TESTS}"]'}


def recorded(resources: dict[str, Resource]) -> State:
    state = State(serial=1, lineage="lin", exists=True)
    for address, r in resources.items():
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


def chosen(
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    selector: str | None = None,
    state: State | None = None,
    desired: dict[str, Resource] | None = None,
) -> set[str]:
    wanted = two_teams() if desired is None else desired
    recorded_ = (state or State()).resources
    return set(select(wanted, recorded_, Request(targets, excludes, selector), "default"))


# --- --target: the addressed resources and everything they depend on -----------------------
def test_a_target_brings_its_dependencies_and_the_pipeline_files() -> None:
    assert chosen(("model.a",)) == CHAIN_A | PIPELINE_FILES


def test_a_deployment_brings_its_model_chain_but_not_its_monitor() -> None:
    assert chosen(("deployment.a-local",)) == CHAIN_A | PIPELINE_FILES | {"deployment.a-local"}


def test_a_monitor_brings_its_rules_files() -> None:
    assert chosen(("monitor.a-local",)) == (
        CHAIN_A | PIPELINE_FILES | MONITOR_A | {"deployment.a-local"}
    )


def test_a_file_alone_has_no_dependencies() -> None:
    assert chosen(('file["params.yaml"]',)) == {'file["params.yaml"]'}


@pytest.mark.parametrize(
    "written",
    ["model.a", "Model/a", "model/a", "MODEL.a"],
)
def test_a_spec_document_names_its_resource(written: str) -> None:
    assert chosen((written,)) == CHAIN_A | PIPELINE_FILES


@pytest.mark.parametrize("written", ["RetrainPolicy/a-r", "retrainpolicy.a-r", "retrain.a-r"])
def test_a_retrain_policy_by_its_kind_or_its_address(written: str) -> None:
    assert chosen((written,)) == CHAIN_A | PIPELINE_FILES | {"retrain.a-r"}


@pytest.mark.parametrize("written", ['file["dvc.yaml"]', "file[dvc.yaml]", 'file[ "dvc.yaml" ]'])
def test_a_file_with_or_without_quotes(written: str) -> None:
    assert chosen((written,)) == {'file["dvc.yaml"]'}


def test_targets_are_a_union() -> None:
    assert chosen(("model.a", "dataset.b")) == CHAIN_A | PIPELINE_FILES | {"dataset.b"}


# --- --exclude: the addressed resources and everything that depends on them ---------------
def test_an_exclude_takes_its_dependents_with_it() -> None:
    everything = set(two_teams())
    assert chosen(excludes=("model.a",)) == everything - {
        "model.a",
        "deployment.a-local",
        "retrain.a-r",
        *MONITOR_A,
    }


def test_excluding_a_monitor_leaves_out_its_rules_files() -> None:
    assert chosen(excludes=("monitor.a-local",)) == set(two_teams()) - MONITOR_A


def test_excluding_the_pipeline_file_leaves_out_every_pipeline_resource() -> None:
    assert chosen(excludes=('file["dvc.yaml"]',)) == {'file["params.yaml"]'}


# --- --selector: the specs whose labels match, and their dependencies --------------------
def test_a_selector_picks_a_team_and_its_dependencies() -> None:
    assert chosen(selector="team=b") == CHAIN_B | PIPELINE_FILES | {"deployment.b-triton"}


def test_a_selector_matches_spec_documents_not_files() -> None:
    # the retrain policy has no labels, neither have files: only the policy matches !team
    assert chosen(selector="!team") == CHAIN_A | PIPELINE_FILES | {"retrain.a-r"}


def test_a_selector_that_matches_nothing_selects_nothing() -> None:
    assert chosen(selector="team=c") == set()


# --- combined: targets and selector pick roots; excludes remove theirs and dependents -----
def test_targets_and_selector_unite_then_excludes_remove() -> None:
    assert chosen(("monitor.a-local",), selector="team=b") == (
        CHAIN_A
        | CHAIN_B
        | PIPELINE_FILES
        | MONITOR_A
        | {"deployment.a-local", "deployment.b-triton"}
    )
    assert chosen(("monitor.a-local",), ("deployment.a-local",), "team=b") == (
        CHAIN_A | CHAIN_B | PIPELINE_FILES | {"deployment.b-triton"}
    )


def test_an_exclude_wins_over_a_target() -> None:
    assert chosen(("deployment.b-triton",), ("training.b-t",)) == (
        PIPELINE_FILES | {"dataset.b", "featureset.b-f"}
    )


# --- removed resources: destroyed only when they are inside the selection ------------------
def _with_removed() -> tuple[dict[str, Resource], State]:
    """State also records deployment.c (team c, serving model.b) that the specs dropped."""
    desired = two_teams()
    state = recorded(desired)
    state.resources["deployment.c"] = {
        "type": "deployment",
        "name": "c",
        "spec": {"target": "triton"},
        "meta": {"labels": {"team": "c"}},
        "depends_on": ["model.b"],
        "status": "applied",
        "outputs": {},
    }
    return desired, state


def _deletes(request: Request) -> list[str]:
    desired, state = _with_removed()
    made = plan(desired, state, Observed(), "default", None)
    picked = select(desired, state.resources, request, "default")
    narrowed = narrow(made, picked, request, total(desired, state.resources))
    return [c.address for c in narrowed.changes if "delete" in c.actions]


def test_a_removed_resource_is_destroyed_only_inside_the_selection() -> None:
    assert _deletes(Request()) == ["deployment.c"]  # no targeting: what plan always does
    assert _deletes(Request(selector="team=c")) == ["deployment.c"]  # its recorded labels
    assert _deletes(Request(targets=("deployment.c",))) == ["deployment.c"]
    assert _deletes(Request(selector="team=b")) == []  # a dependent of team b, not a dependency
    assert _deletes(Request(targets=("model.b",))) == []
    assert _deletes(Request(excludes=("model.b",))) == []  # its recorded depends_on


def test_prevent_destroy_outside_the_selection_does_not_block_it() -> None:
    desired, state = _with_removed()
    state.resources["deployment.c"]["prevent_destroy"] = True
    made = plan(desired, state, Observed(), "default", None)
    assert made.errors
    request = Request(selector="team=a")
    picked = select(desired, state.resources, request, "default")
    assert narrow(made, picked, request, total(desired, state.resources)).errors == []


# --- unknown addresses -----------------------------------------------------------------
def test_an_unknown_address_is_refused_with_the_closest_one() -> None:
    with pytest.raises(UserError) as raised:
        chosen(("model.aa", "Deployment/b-tritn"), ("nothing-like-it",))
    assert raised.value.message == (
        "--target model.aa: no resource has this address in environment 'default' — did you mean 'model.a'?\n"
        "--target Deployment/b-tritn: no resource has this address in environment 'default' — did you mean 'deployment.b-triton'?\n"
        "--exclude nothing-like-it: no resource has this address in environment 'default'"
    )
    assert raised.value.hint == (
        "`mlform plan` lists every address; a spec document's Kind/name (Model/credit-risk) "
        "names its resource too."
    )


def test_a_type_alone_is_not_an_address() -> None:
    with pytest.raises(UserError, match=r"^--target model: no resource has this address"):
        chosen(("model",))


# --- the selector's grammar --------------------------------------------------------------
LABELS = [{"team": "a", "tier": "gold"}, {"team": "b", "tier": "silver"}, {"team": "c"}, {}]


@pytest.mark.parametrize(
    ("selector", "matching"),
    [
        ("team=a", [0]),
        ("team==a", [0]),
        ("team = a", [0]),
        ("team!=a", [1, 2, 3]),  # as in Kubernetes: without the label matches too
        ("tier in (gold,silver)", [0, 1]),
        ("tier in ( gold , silver )", [0, 1]),
        ("tier notin (gold)", [1, 2, 3]),
        ("tier", [0, 1]),
        ("!tier", [2, 3]),
        ("team in (a,b),tier!=gold", [1]),
        ("team, !tier", [2]),
        ("team=", []),  # the empty value
    ],
)
def test_each_operator(selector: str, matching: list[int]) -> None:
    parsed = parse(selector)
    assert [i for i, labels in enumerate(LABELS) if parsed.matches(labels)] == matching


def test_label_keys_as_specs_write_them() -> None:
    assert parse("example.com/team=risk").matches({"example.com/team": "risk"})
    assert parse("in=notin").matches({"in": "notin"})


HINT = (
    "A selector is kubectl's: key=value, key!=value, key in (a,b), key notin (a,b), key, "
    "!key; commas join requirements that must all hold."
)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("", "invalid --selector at column 1: the selector is empty\n  \n  ^"),
        (
            "team in (a,b",
            "invalid --selector at column 13: expected ',' or ')', found the end of the selector\n"
            "  team in (a,b\n"
            "              ^",
        ),
        (
            "team=a b",
            "invalid --selector at column 8: expected ',' or the end, found 'b'\n"
            "  team=a b\n"
            "         ^",
        ),
        (
            "=a",
            "invalid --selector at column 1: expected a label key, found '='\n  =a\n  ^",
        ),
        (
            "team in a",
            "invalid --selector at column 9: expected '(' after in/notin, found 'a'\n"
            "  team in a\n"
            "          ^",
        ),
        (
            "team in ()",
            "invalid --selector at column 10: expected a value, found ')'\n"
            "  team in ()\n"
            "           ^",
        ),
        (
            "team=a,",
            "invalid --selector at column 8: expected a label key, found the end of the selector\n"
            "  team=a,\n"
            "         ^",
        ),
        (
            "team>1",
            "invalid --selector at column 1: 'team>1' is not a label key (letters, digits, '_', "
            "'.', '/', '-'; at most 63)\n  team>1\n  ^",
        ),
        (
            "team=a@b",
            "invalid --selector at column 6: 'a@b' is not a label value (letters, digits, '_', "
            "'.', '/', '-'; at most 63)\n  team=a@b\n       ^",
        ),
        (
            "team (a)",
            "invalid --selector at column 6: expected =, ==, !=, in, notin, ',' or the end, "
            "found '('\n  team (a)\n       ^",
        ),
        (
            "team=\x1b[2Ja",
            "invalid --selector at column 6: '\\u001b[2Ja' is not a label value (letters, "
            "digits, '_', '.', '/', '-'; at most 63)\n  team=\\u001b[2Ja\n       ^",
        ),
    ],
)
def test_a_bad_selector_points_at_the_problem(selector: str, message: str) -> None:
    with pytest.raises(UserError) as raised:
        parse(selector)
    assert raised.value.message == message
    assert raised.value.hint == HINT


# --- the plan's record of its targeting ----------------------------------------------------
def _targeted(request: Request) -> Plan:
    desired = two_teams()
    changed = dict(desired)
    changed["training.a-t"] = Resource(
        "training", "a-t", {"v": 2}, _team("a"), ("dataset.a", "featureset.a-f")
    )
    changed["training.b-t"] = Resource(
        "training", "b-t", {"v": 2}, _team("b"), ("dataset.b", "featureset.b-f")
    )
    state = recorded(desired)
    made = plan(changed, state, Observed(), "default", "abc")
    picked = select(changed, state.resources, request, "default")
    return narrow(made, picked, request, total(changed, state.resources))


def test_the_plan_says_what_it_leaves_out() -> None:
    made = _targeted(Request(selector="team=a", excludes=("deployment.a-local",)))
    assert [c.address for c in made.changes if c.is_change] == ["training.a-t", "model.a"]
    assert made.targeting is not None and not made.targeting.complete
    text = report.text(made)
    assert text.endswith(
        "Plan: 0 to add, 2 to change, 0 to destroy.\n"
        "\n"
        "Warning: Resource targeting is in effect\n"
        "\n"
        "  Only 6 of 16 resources are planned, as selected by --selector team=a --exclude deployment.a-local.\n"
        "  The plan may be incomplete: 4 changes outside the selection are not planned "
        "(training.b-t, model.b, deployment.a-local, deployment.b-triton); until an apply covers them, the "
        "environment's applied revision does not advance and `mlform status` stays OutOfSync.\n"
        "  Targeting is for exceptional cases and for a team's scope of a shared repository, "
        "not for routine use."
    )
    assert (
        "> :warning: **Resource targeting is in effect.** Only 6 of 16 resources are planned"
        in report.markdown(made)
    )


def test_a_selection_with_nothing_outside_it_is_complete() -> None:
    made = _targeted(Request(selector="team in (a,b)"))
    assert made.targeting is not None and made.targeting.complete
    assert made.to_json()["complete"] is True
    assert (
        "  Nothing outside the selection has changes, so applying this plan leaves the whole "
        "environment at this revision.\n" in report.text(made)
    )


def test_no_changes_in_the_selection_still_warns() -> None:
    desired = two_teams()
    state = recorded(desired)
    request = Request(targets=("model.a",))
    picked = select(desired, state.resources, request, "default")
    made = narrow(plan(desired, state, Observed(), "default", None), picked, request, 16)
    assert report.text(made).startswith(
        "No changes in the selection. Its specs and the world match the recorded state.\n"
        "\n"
        "Warning: Resource targeting is in effect\n"
    )


def test_a_saved_plan_carries_its_targeting() -> None:
    made = _targeted(Request(("model.a",), ("retrain.a-r",), "team=b"))
    data = json.loads(json.dumps(made.to_json()))
    assert data["complete"] is False
    assert data["targeting"] == {
        "targets": ["model.a"],
        "excludes": ["retrain.a-r"],
        "selector": "team=b",
        "selected": 11,
        "total": 16,
        "left_out": ["deployment.a-local"],
    }
    assert data["warnings"] == [
        {
            "severity": "warning",
            "summary": "Resource targeting is in effect",
            "detail": made.targeting.detail() if made.targeting else "",
        }
    ]
    again = Plan.from_json(data)
    assert again.targeting == made.targeting
    assert report.text(again) == report.text(made)


def test_an_untargeted_plan_says_nothing_of_targeting() -> None:
    data = plan(two_teams(), State(), Observed(), "default", None).to_json()
    assert data["complete"] is True and "targeting" not in data and "warnings" not in data
    assert Plan.from_json(data).targeting is None
