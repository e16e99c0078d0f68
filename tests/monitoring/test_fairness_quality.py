"""Production fairness and data quality: what `mlform monitor run` finds on windows with
injected bias and injected bad values (and on fair, clean and too-small ones), what it
exports for Prometheus, and the RetrainPolicy trigger that reads it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tests import requires
from tests.conftest import Run
from tests.monitoring.conftest import MONITOR, LogWriter, Scored, generate, predict
from tests.pipeline_helpers import edit

VERSIONED = 'monitor="credit-risk-local",model="credit-risk",version="v0.1.0"'


def monitor(run_cli: Callable[..., Run], scored: Scored, *args: str) -> Run:
    return run_cli("monitor", "run", MONITOR, *args, cwd=scored.root)


def result(scored: Scored) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((scored.out / "result.json").read_text())
    return data


def prom(scored: Scored) -> str:
    return (scored.out / "metrics.prom").read_text()


def biased(scored: Scored, frame: pd.DataFrame, strength: float, seed: int = 0) -> pd.DataFrame:
    """The rows with ``sex`` reassigned so that the model's positive predictions fall on
    'female' with probability ``strength`` (0.5: independent of the prediction)."""
    rng = np.random.default_rng(seed)
    positive = np.array([o["label"] == 1 for o in predict(scored.root, frame)])
    female = np.where(positive, rng.random(len(frame)) < strength, rng.random(len(frame)) < 0.5)
    return frame.assign(sex=np.where(female, "female", "male"))


def test_injected_bias_fires_fairness(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(biased(scored, generate(tmp_path, 600, seed=7), 0.95), columns=("sex",))
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 2, done.out + done.err
    fairness = result(scored)["fairness"]
    assert fairness["metric"] == "demographic_parity_difference" and fairness["max"] == 0.1
    assert fairness["status"] == "ok" and fairness["labels"] == 600 and fairness["violated"]
    (sex,) = fairness["features"]
    assert sex["feature"] == "sex" and sex["source"] == "feedback columns"
    rates = {g["group"]: g["selection_rate"] for g in sex["groups"]}
    assert sex["value"] == fairness["value"] == rates["female"] - rates["male"] > 0.1
    assert sum(g["count"] for g in sex["groups"]) == 600
    assert result(scored)["alerts"] == ["fairness"]
    assert "Alerts: fairness" in done.out
    assert f"Fairness: demographic_parity_difference = {fairness['value']:.4f} (≤ 0.1)" in done.out
    text = prom(scored)
    assert (
        f'mlform_fairness_value{{{VERSIONED},metric="demographic_parity_difference",feature="sex"}} '
        f"{fairness['value']!r}"
    ) in text
    assert (
        f'mlform_fairness_groups{{{VERSIONED},metric="demographic_parity_difference",feature="sex"}} 2.0'
        in text
    )
    assert (
        f'mlform_fairness_detected{{{VERSIONED},metric="demographic_parity_difference"}} 1.0'
        in text
    )
    report = (scored.out / "report.html").read_text()
    assert "<h2>Fairness on labelled traffic</h2>" in report and "outside the bound" in report


def test_a_fair_window_does_not_fire(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(biased(scored, generate(tmp_path, 600, seed=7), 0.5), columns=("sex",))
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0, done.out + done.err
    fairness = result(scored)["fairness"]
    assert fairness["status"] == "ok" and not fairness["violated"]
    assert fairness["value"] <= 0.1
    assert (
        f'mlform_fairness_detected{{{VERSIONED},metric="demographic_parity_difference"}} 0.0'
        in prom(scored)
    )


def test_too_few_labelled_rows_per_group_is_insufficient_not_an_alarm(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    frame = biased(scored, generate(tmp_path, 600, seed=7), 1.0)
    write_log(frame.iloc[:40], columns=("sex",))  # 40 rows carry sex: no group reaches 30
    write_log(frame.iloc[40:], append=True, age_seconds=1)  # the rest: labels, but no sex
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0, done.out + done.err
    fairness = result(scored)["fairness"]
    assert fairness["status"] == "insufficient_data" and "value" not in fairness
    (sex,) = fairness["features"]
    assert sex["status"] == "insufficient_data" and sex["labels"] == 40 and sex["groups"] == []
    assert sorted(g["count"] for g in sex["too_small"]) == sorted(
        frame.iloc[:40]["sex"].value_counts().tolist()
    )
    assert "note: fairness of 'sex' not scored: fewer than two groups with at least 30" in done.out
    assert "mlform_fairness" not in prom(scored)
    assert result(scored)["alerts"] == []


def test_a_sensitive_feature_nobody_sent_is_named(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 600, seed=7))  # labels without columns
    done = monitor(run_cli, scored)
    fairness = result(scored)["fairness"]
    assert fairness["status"] == "insufficient_data"
    assert fairness["features"][0]["status"] == "missing"
    assert (
        "note: fairness: no labelled prediction in the window carries 'sex' "
        "(send it in the feedback's `columns`)"
    ) in done.out


def test_injected_bad_values_fire_data_quality_with_exact_shares(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    frame = generate(tmp_path, 400, seed=7)
    frame["age"] = frame["age"].astype(object)
    frame["loan_term_months"] = frame["loan_term_months"].astype(float)
    frame.loc[0:19, "age"] = 150  # out of range: 20 rows (max 100)
    frame.loc[20:31, "purpose"] = "crypto"  # unseen category: 12 rows
    frame.loc[32:39, "income"] = np.nan  # null, not nullable: 8 rows
    frame.loc[40:43, "loan_term_months"] = 36.5  # not an int: 4 rows, 0.01 is not over 0.01
    frame.loc[44:45, "employment_years"] = np.nan  # nullable: fine
    write_log(frame)
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 2, done.out + done.err
    quality = result(scored)["data_quality"]
    shares = {
        (c["column"], c["check"]): (c["count"], c["share"], c["violated"])
        for c in quality["checks"]
    }
    assert shares[("age", "out_of_range")] == (20, 0.05, True)
    assert shares[("purpose", "unseen_category")] == (12, 0.03, True)
    assert shares[("income", "null")] == (8, 0.02, True)
    assert shares[("loan_term_months", "type_mismatch")] == (4, 0.01, False)
    assert shares[("loan_term_months", "unseen_category")] == (0, 0.0, False)
    assert ("employment_years", "null") not in shares
    assert {c: n for (c, _), (n, _, _) in shares.items() if n} == {
        "age": 20, "purpose": 12, "income": 8, "loan_term_months": 4,
    }  # fmt: skip
    assert quality["bad_rows"] == 44 and quality["row_share"] == 0.11 and quality["detected"]
    examples = {(c["column"], c["check"]): c["examples"] for c in quality["checks"]}
    assert examples[("purpose", "unseen_category")] == ["crypto"]
    assert examples[("income", "null")] == ["null"]
    assert result(scored)["alerts"] == ["data_quality"]
    assert (
        "Data quality: 44 of 400 row(s) break the schema (share 0.1100; at most 0.05): failed"
        in done.out
    )
    assert "  purpose  unseen_category 0.0300 > 0  failed  e.g. crypto" in done.out
    text = prom(scored)
    assert (
        f'mlform_data_quality_share{{{VERSIONED},feature="age",check="out_of_range"}} 0.05' in text
    )
    assert (
        f'mlform_data_quality_violated{{{VERSIONED},feature="age",check="out_of_range"}} 1.0'
        in text
    )
    assert (
        f'mlform_data_quality_violated{{{VERSIONED},feature="loan_term_months",check="type_mismatch"}} 0.0'
        in text
    )
    assert f"mlform_data_quality_row_share{{{VERSIONED}}} 0.11" in text
    assert f"mlform_data_quality_detected{{{VERSIONED}}} 1.0" in text
    report = (scored.out / "report.html").read_text()
    assert "<h2>Data quality</h2>" in report and "<code>crypto</code>" in report


def test_clean_traffic_holds_data_quality(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 600, seed=7))
    assert monitor(run_cli, scored, "--detailed-exitcode").code == 0
    quality = result(scored)["data_quality"]
    assert quality["bad_rows"] == 0 and not quality["detected"]
    assert all(c["count"] == 0 for c in quality["checks"])


def test_the_retrain_policy_fires_on_a_fairness_alert(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    """The example's policy names fairness among its monitor_alert's alerts (not
    data_quality: new data rarely fixes bad requests)."""
    import shutil

    try:
        write_log(biased(scored, generate(tmp_path, 600, seed=7), 0.5), columns=("sex",))
        monitor(run_cli, scored)
        quiet = run_cli("retrain", "check", cwd=scored.root)
        assert quiet.code == 0, quiet.out + quiet.err
        assert (
            "  quiet  monitor_alert: Monitor 'credit-risk-local' raised no "
            "data_drift/fairness/performance ("
        ) in quiet.out
        write_log(biased(scored, generate(tmp_path, 600, seed=7), 0.95), columns=("sex",))
        monitor(run_cli, scored)
        due = run_cli("retrain", "check", cwd=scored.root)
        assert due.code == 2, due.out + due.err
        assert "credit-risk-retrain (Model credit-risk, serving -): retrain" in due.out
        assert "  fired  monitor_alert: Monitor 'credit-risk-local' raised fairness (" in due.out
    finally:
        shutil.rmtree(scored.root / ".mlform" / "retrain", ignore_errors=True)


def test_a_policy_naming_data_quality_fires_on_bad_requests(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    import shutil

    policy = scored.root / "ml" / "retrain.yaml"
    before = policy.read_text()
    try:
        edit(policy, "alerts: [data_drift, performance, fairness]", "alerts: [data_quality]")
        frame = generate(tmp_path, 400, seed=7)
        frame.loc[0:39, "purpose"] = "crypto"
        write_log(frame)
        monitor(run_cli, scored)
        due = run_cli("retrain", "check", cwd=scored.root)
        assert due.code == 2, due.out + due.err
        assert (
            "  fired  monitor_alert: Monitor 'credit-risk-local' raised data_quality (" in due.out
        )
    finally:
        policy.write_text(before)
        shutil.rmtree(scored.root / ".mlform" / "retrain", ignore_errors=True)


def test_hostile_group_names_are_escaped_in_the_metrics(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    """A group is whatever feedback sends: its name reaches metrics.prom as an escaped label
    value, which promtool's parser of the exposition format accepts."""
    hostile = 'x",evil="1"} 1\nmlform_fake{a="b\\'
    frame = biased(scored, generate(tmp_path, 600, seed=7), 0.5)
    frame["sex"] = frame["sex"].replace({"female": hostile})
    write_log(frame, columns=("sex",))
    monitor(run_cli, scored)
    text = prom(scored)
    escaped = hostile.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    assert f'mlform_fairness_group_rows{{{VERSIONED},feature="sex",group="{escaped}"}}' in text
    assert "\nmlform_fake" not in text
    promtool = requires.program("promtool", "prometheus")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert "error" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr


def test_hostile_column_names_are_escaped_in_the_metrics() -> None:
    """A Dataset's column names are free text; as label values they cannot end a sample or
    add a label."""
    from mlform.monitoring.export import prometheus_text

    name = 'a"} 1\nmlform_fake{b="\\'
    check = {"column": name, "check": "null", "share": 0.5, "threshold": 0.01, "violated": True}
    text = prometheus_text(
        {
            "monitor": "m", "model": "x", "version": "v1", "status": "ok",
            "ran_at": "2026-01-01T00:00:00Z", "window": {"rows": 2},
            "data_quality": {"checks": [check], "row_share": 0.5, "detected": True},
        }
    )  # fmt: skip
    assert (
        'mlform_data_quality_share{monitor="m",model="x",version="v1",'
        'feature="a\\"} 1\\nmlform_fake{b=\\"\\\\",check="null"} 0.5'
    ) in text
    assert "\nmlform_fake" not in text
    promtool = requires.program("promtool", "prometheus")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert "error" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
