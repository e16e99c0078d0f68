"""Rendered Prometheus rules are accepted by the real promtool, and their rendered unit tests
pass — and fail when a rule is wrong, so they test something."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import mlform
from tests import requires
from tests.conftest import copy_example
from tests.pipeline_helpers import edit

EXAMPLES = {"credit-risk": "credit-risk-local", "diabetes-regression": "diabetes-local"}


def promtool() -> str:
    return requires.program("promtool", "prometheus")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for example in EXAMPLES:
        root = copy_example(example, tmp_path_factory.mktemp("rules") / example)
        mlform.compile(root)
        out[example] = root / "monitoring" / "rules"
    return out


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_promtool_accepts_the_rules(compiled: dict[str, Path], example: str) -> None:
    monitor = EXAMPLES[example]
    done = run("check", "rules", f"{monitor}.rules.yml", cwd=compiled[example])
    assert done.returncode == 0, done.stdout + done.stderr
    rules = {"credit-risk": 11, "diabetes-regression": 10}[example]  # diabetes: no fairness
    assert f"SUCCESS: {rules} rules found" in done.stdout


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_rendered_unit_tests_pass(compiled: dict[str, Path], example: str) -> None:
    done = run("test", "rules", f"{EXAMPLES[example]}.test.yml", cwd=compiled[example])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_unit_tests_catch_a_wrong_rule(compiled: dict[str, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(compiled["credit-risk"], tmp_path / "rules")
    rules = folder / "credit-risk-local.rules.yml"
    text = rules.read_text()
    wrong = text.replace(
        'mlform_dataset_drift_share{monitor="credit-risk-local"} >= 0.5',
        'mlform_dataset_drift_share{monitor="credit-risk-local"} >= 5',
    )
    assert wrong != text
    rules.write_text(wrong)
    assert run("check", "rules", rules.name, cwd=folder).returncode == 0  # still valid PromQL
    done = run("test", "rules", "credit-risk-local.test.yml", cwd=folder)
    assert done.returncode == 1
    assert "alertname: MLformDatasetDrift" in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("right", "wrong", "alert"),
    [
        # the bound, and the guard that keeps too few groups from firing
        ("} > 0.1 and on (monitor, metric, feature)", "} > 0.6 and on (monitor, metric, feature)", "MLformFairness"),
        ('mlform_fairness_groups{monitor="credit-risk-local"} >= 2', 'mlform_fairness_groups{monitor="credit-risk-local"} >= 1', "MLformFairness"),
        ('mlform_data_quality_violated{monitor="credit-risk-local"} == 1', 'mlform_data_quality_violated{monitor="credit-risk-local"} >= 0', "MLformDataQuality"),
        ('mlform_data_quality_row_share{monitor="credit-risk-local"} > 0.05', 'mlform_data_quality_row_share{monitor="credit-risk-local"} > 0.6', "MLformDataQualityRows"),
    ],
)  # fmt: skip
def test_the_unit_tests_catch_a_wrong_fairness_or_quality_rule(
    compiled: dict[str, Path], tmp_path: Path, right: str, wrong: str, alert: str
) -> None:
    folder = shutil.copytree(compiled["credit-risk"], tmp_path / "rules")
    rules = folder / "credit-risk-local.rules.yml"
    text = rules.read_text()
    assert text.count(right) == 1
    rules.write_text(text.replace(right, wrong))
    assert run("check", "rules", rules.name, cwd=folder).returncode == 0
    done = run("test", "rules", "credit-risk-local.test.yml", cwd=folder)
    assert done.returncode == 1
    assert f"alertname: {alert}" in done.stdout + done.stderr


def test_a_ratio_metric_alerts_below_its_min(tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "p")
    edit(
        root / "ml" / "monitor.yaml",
        "fairness: {min_group_size: 30}",
        "fairness: {metric: demographic_parity_ratio, min: 0.8}",
    )
    mlform.compile(root)
    folder = root / "monitoring" / "rules"
    text = (folder / "credit-risk-local.rules.yml").read_text()
    assert (
        'mlform_fairness_value{monitor="credit-risk-local",metric="demographic_parity_ratio"} < 0.8'
        in text
    )
    assert run("check", "rules", "credit-risk-local.rules.yml", cwd=folder).returncode == 0
    done = run("test", "rules", "credit-risk-local.test.yml", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_objective_has_an_alert_with_labels_and_annotations(
    compiled: dict[str, Path],
) -> None:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(
        (compiled["credit-risk"] / "credit-risk-local.rules.yml").read_text()
    )
    (group,) = data["groups"]
    assert group["name"] == "mlform-credit-risk-local" and group["interval"] == "30s"
    alerts = {r["alert"]: r for r in group["rules"] if "alert" in r}
    assert sorted(alerts) == [
        "MLformDataQuality",
        "MLformDataQualityRows",
        "MLformDatasetDrift",
        "MLformErrorRateHigh",
        "MLformFairness",
        "MLformFeatureDrift",
        "MLformLatencyHigh",
        "MLformPerformanceLow",
        "MLformPredictionDrift",
    ]
    for rule in alerts.values():
        assert rule["for"] == "10m"
        assert rule["labels"]["severity"] == "warning" and rule["labels"]["team"] == "risk-ml"
        assert "{{ $value" in rule["annotations"]["description"]
        assert rule["annotations"]["runbook_url"] == "https://runbooks.example.com/credit-risk"
    assert alerts["MLformPerformanceLow"]["expr"] == (
        'mlform_model_performance{monitor="credit-risk-local",metric="roc_auc"} < 0.65 and on '
        '(monitor, metric) mlform_model_performance_labels{monitor="credit-risk-local"} >= 200'
    )
    assert {r["labels"]["objective"] for r in alerts.values()} == {
        "latency",
        "error_rate",
        "feature_drift",
        "data_drift",
        "prediction_drift",
        "performance",
        "fairness",
        "data_quality",
    }


def test_compiled_rules_match_the_committed_examples(compiled: dict[str, Path]) -> None:
    for example, monitor in EXAMPLES.items():
        for suffix in ("rules", "test"):
            name = f"{monitor}.{suffix}.yml"
            committed = (
                Path(__file__).parents[2] / "examples" / example / "monitoring" / "rules" / name
            )
            assert (compiled[example] / name).read_text() == committed.read_text()


INJECTED = {
    "team": '{{ query "up" }}',
    "runbook_url": 'https://x/{{ printf "%s-%d" "expanded" 42 }}',
    "owner": "{{ $value }} {{{ $labels.model }}}",
}


def test_spec_values_reach_prometheus_as_text_not_templates(tmp_path: Path) -> None:
    """Prometheus expands labels and annotations as Go templates: a spec's `{{ query … }}`
    would run PromQL. The rendered unit tests expect the spec's text verbatim and promtool
    (which expands templates as Prometheus does) agrees; unescaped, it would not."""
    root = copy_example("credit-risk", tmp_path / "p")
    edit(
        root / "ml" / "monitor.yaml",
        "    team: risk-ml\n    runbook_url: https://runbooks.example.com/credit-risk\n",
        "    team: '{team}'\n    runbook_url: '{runbook_url}'\n    labels: {{owner: '{owner}'}}\n".format(
            **INJECTED
        ),
    )
    mlform.compile(root)
    folder = root / "monitoring" / "rules"
    assert run("check", "rules", "credit-risk-local.rules.yml", cwd=folder).returncode == 0
    done = run("test", "rules", "credit-risk-local.test.yml", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = (folder / "credit-risk-local.test.yml").read_text()
    assert 'runbook_url: https://x/{{ printf "%s-%d" "expanded" 42 }}' in tests

    rules = folder / "credit-risk-local.rules.yml"
    unescaped = [  # the runbook link as it was rendered before the fix
        line.replace('{{ "{{" }}', "{{") if "runbook_url" in line else line
        for line in rules.read_text().splitlines(keepends=True)
    ]
    rules.write_text("".join(unescaped))
    done = run("test", "rules", "credit-risk-local.test.yml", cwd=folder)
    assert done.returncode == 1
    assert "https://x/expanded-42" in done.stdout + done.stderr
