"""`mlform plan/apply --target/--exclude/--selector` as a user runs them: the warning in text
and JSON, exit codes, located errors, and saved plans that carry their targeting."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

WARNING_TARGET = (
    "Plan: 6 to add, 0 to change, 0 to destroy.\n"
    "\n"
    "Warning: Resource targeting is in effect\n"
    "\n"
    "  Only 6 of 11 resources are planned, as selected by --target model.credit-risk.\n"
    "  The plan may be incomplete: 5 changes outside the selection are not planned "
    '(file["monitoring/rules/credit-risk-local.rules.yml"], '
    'file["monitoring/rules/credit-risk-local.test.yml"], deployment.credit-risk-local, '
    "monitor.credit-risk-local, retrain.credit-risk-retrain); until an apply covers them, the "
    "environment's applied revision does not advance and `mlform status` stays OutOfSync.\n"
    "  Targeting is for exceptional cases and for a team's scope of a shared repository, not "
    "for routine use.\n"
)


def test_a_targeted_plan_warns_and_exits_2_for_changes_inside(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    result = run_cli("plan", "--target", "model.credit-risk", "--detailed-exitcode", cwd=credit)
    assert result.code == 2
    assert result.out.endswith(WARNING_TARGET)
    assert "# deployment.credit-risk-local" not in result.out
    assert "  # model.credit-risk will be created (not yet applied)" in result.out


def test_no_changes_inside_the_selection_exits_0(credit: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("plan", "-l", "team=nobody", "--detailed-exitcode", cwd=credit)
    assert result.code == 0
    assert result.out.startswith(
        "No changes in the selection. Its specs and the world match the recorded state.\n\n"
        "Warning: Resource targeting is in effect\n\n"
        "  Only 0 of 11 resources are planned, as selected by --selector team=nobody.\n"
        "  The plan may be incomplete: 11 changes outside the selection are not planned"
    )


def test_the_json_plan_is_incomplete_and_says_why(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    result = run_cli(
        "plan",
        "--format",
        "json",
        "--exclude",
        "Deployment/credit-risk-local",
        "--selector",
        "team notin (x)",
        cwd=credit,
    )
    data = json.loads(result.out)
    assert data["complete"] is False
    assert data["targeting"] == {
        "targets": [],
        "excludes": ["Deployment/credit-risk-local"],
        "selector": "team notin (x)",
        "selected": 7,
        "total": 11,
        "left_out": [
            'file["monitoring/rules/credit-risk-local.rules.yml"]',
            'file["monitoring/rules/credit-risk-local.test.yml"]',
            "deployment.credit-risk-local",
            "monitor.credit-risk-local",
        ],
    }
    assert data["warnings"] == [
        {
            "severity": "warning",
            "summary": "Resource targeting is in effect",
            "detail": "Only 7 of 11 resources are planned, as selected by --selector "
            "'team notin (x)' --exclude Deployment/credit-risk-local.\n"
            "The plan may be incomplete: 4 changes outside the selection are not planned "
            '(file["monitoring/rules/credit-risk-local.rules.yml"], '
            'file["monitoring/rules/credit-risk-local.test.yml"], deployment.credit-risk-local, '
            "monitor.credit-risk-local); until an apply covers them, the environment's applied "
            "revision does not advance and `mlform status` stays OutOfSync.\n"
            "Targeting is for exceptional cases and for a team's scope of a shared repository, "
            "not for routine use.",
        }
    ]
    assert [c["address"] for c in data["resource_changes"]] == [
        'file["dvc.yaml"]',
        'file["params.yaml"]',
        "dataset.credit",
        "featureset.credit-features",
        "training.credit-gbm",
        "model.credit-risk",
        "retrain.credit-risk-retrain",
    ]


def test_an_unknown_address_is_a_located_error_with_a_suggestion(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    result = run_cli("plan", "--target", "model.credit-rsk", cwd=credit)
    assert result.code == 1 and result.out == ""
    assert result.err == (
        "Error: --target model.credit-rsk: no resource has this address in environment "
        "'default' — did you mean 'model.credit-risk'?\n"
        "`mlform plan` lists every address; a spec document's Kind/name (Model/credit-risk) "
        "names its resource too.\n"
    )
    prod_only = run_cli(
        "apply", "--auto-approve", "--exclude", "deployment.credit-risk-prod", cwd=credit
    )
    assert prod_only.code == 1
    assert prod_only.err.startswith(
        "Error: --exclude deployment.credit-risk-prod: no resource has this address in "
        "environment 'default' — did you mean 'deployment.credit-risk-local'?\n"
    )


def test_a_bad_selector_is_refused_before_any_work(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_cli(*command, "--selector", "team in (risk", cwd=credit)
        assert result.code == 1 and result.out == ""
        assert result.err == (
            "Error: invalid --selector at column 14: expected ',' or ')', found the end of the "
            "selector\n"
            "  team in (risk\n"
            "               ^\n"
            "A selector is kubectl's: key=value, key!=value, key in (a,b), key notin (a,b), "
            "key, !key; commas join requirements that must all hold.\n"
        )
    assert not (credit / ".mlform" / "state").exists()


def test_a_saved_plan_carries_its_targeting(
    credit: Path, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    made = run_cli("plan", "--target", "model.credit-risk", "--out", str(saved), cwd=credit)
    assert made.code == 0
    assert run_cli("show", str(saved), cwd=credit).out.endswith(WARNING_TARGET)
    shown = json.loads(run_cli("show", str(saved), "--json", cwd=credit).out)
    assert shown["complete"] is False and shown["targeting"]["targets"] == ["model.credit-risk"]
    again = run_cli("apply", str(saved), "--target", "dataset.credit", cwd=credit)
    assert again.code == 1
    assert again.err == (
        "Error: a saved plan carries its own targeting: give no --target, --exclude or "
        "--selector with it\n"
        "Make a new plan with them: mlform plan --target … --out plan.json\n"
    )


def test_every_environment_is_planned_whole(credit: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("plan", "--all-envs", "--selector", "team=risk", cwd=credit)
    assert result.code == 1
    assert result.err == (
        "Error: --all-envs plans every environment whole: --target, --exclude and --selector "
        "plan a part of one (give --env instead)\n"
    )
