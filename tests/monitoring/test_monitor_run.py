"""`mlform monitor run`: what a user sees for healthy traffic, drifted traffic, degraded
labels, and every kind of bad window (no false alarm, a clear note, exit codes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.monitoring.conftest import MONITOR, LogWriter, Scored, generate


def monitor(run_cli: Callable[..., Run], scored: Scored, *args: str) -> Run:
    return run_cli("monitor", "run", MONITOR, *args, cwd=scored.root)


def result(scored: Scored) -> dict:  # type: ignore[type-arg]
    data: dict = json.loads((scored.out / "result.json").read_text())  # type: ignore[type-arg]
    return data


def prom(scored: Scored) -> str:
    return (scored.out / "metrics.prom").read_text()


def test_healthy_traffic_raises_nothing(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 600, seed=7), columns=("sex",))
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0, done.out + done.err
    lines = done.out.splitlines()
    assert lines[0] == (
        "Monitor credit-risk-local: Model credit-risk v0.1.0, 600 row(s) in the last 1h "
        "from .mlform/serve/credit-risk-local/logs/predictions.jsonl"
    )
    assert lines[1].startswith(
        "Data drift: 0 of 7 feature(s) drifted (share 0.00; dataset drift at 0.5)"
    )
    assert lines[-2] == "Alerts: none"
    data = result(scored)
    assert data["status"] == "ok" and data["alerts"] == []
    assert [f["feature"] for f in data["data_drift"]["features"]] == [
        "age",
        "income",
        "loan_amount",
        "employment_years",
        "purpose",
        "housing",
        "credit_history",
    ]
    methods = {f["feature"]: f["method"] for f in data["data_drift"]["features"]}
    assert methods["income"] == "wasserstein"  # per_feature override
    assert methods["age"] == "psi" and methods["purpose"] == "jensen-shannon"
    performance = data["performance"]
    assert performance["labels"] == 600 and performance["status"] == "ok"
    assert 0.7 < performance["value"] < 0.9 and not performance["violated"]
    text = prom(scored)
    assert (
        'mlform_feature_drift_detected{monitor="credit-risk-local",model="credit-risk",'
        'version="v0.1.0",feature="income",method="wasserstein"} 0.0'
    ) in text
    assert (
        'mlform_dataset_drift_share{monitor="credit-risk-local",model="credit-risk",version="v0.1.0"} 0.0'
        in text
    )
    assert (
        'mlform_model_performance_labels{monitor="credit-risk-local",model="credit-risk",version="v0.1.0",metric="roc_auc"} 600.0'
        in text
    )
    assert (
        'mlform_monitor_status{monitor="credit-risk-local",model="credit-risk",status="ok"} 1.0'
        in text
    )
    report = (scored.out / "report.html").read_text()
    assert report.count("<svg") == 7 and "no dataset drift" in report
    assert "<script" not in report


def test_drifted_traffic_raises_data_drift(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 600, seed=9, shift=1.0))
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 2, done.out + done.err
    data = result(scored)
    drifted = data["data_drift"]["drifted"]
    assert {"age", "income", "loan_amount", "purpose"} <= set(drifted)
    assert {"housing", "credit_history"}.isdisjoint(drifted)
    assert data["data_drift"]["detected"] and data["alerts"] == ["data_drift"]
    assert "Alerts: data_drift" in done.out
    assert (
        'mlform_feature_drift_detected{monitor="credit-risk-local",model="credit-risk",'
        'version="v0.1.0",feature="income",method="wasserstein"} 1.0'
    ) in prom(scored)
    assert (
        'mlform_dataset_drift_detected{monitor="credit-risk-local",model="credit-risk",version="v0.1.0"} 1.0'
        in prom(scored)
    )
    # without --detailed-exitcode a completed run exits 0 whatever it found
    assert monitor(run_cli, scored).code == 0


def test_wrong_labels_raise_performance(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    frame = generate(tmp_path, 400, seed=7)
    frame["default"] = 1 - frame["default"]  # the world disagrees with the model
    write_log(frame)
    done = monitor(run_cli, scored)
    performance = result(scored)["performance"]
    assert performance["violated"] and performance["value"] < 0.35
    assert result(scored)["alerts"] == ["performance"]
    assert "Performance: roc_auc = " in done.out and "out of bounds" in done.out


def test_empty_window_is_no_data_and_exports_no_score(
    scored: Scored, run_cli: Callable[..., Run]
) -> None:
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0
    assert "note: the window holds no predictions of Model 'credit-risk'" in done.out
    assert result(scored)["status"] == "no_data" and result(scored)["alerts"] == []
    text = prom(scored)
    assert "drift" not in text and "mlform_model_performance" not in text
    assert 'mlform_monitor_window_rows{monitor="credit-risk-local",model="credit-risk"} 0.0' in text


def test_window_smaller_than_min_samples_scores_nothing(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 150, seed=9, shift=1.0))  # drifted, but too little of it
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0
    assert (
        "note: the window holds 150 prediction(s), fewer than min_samples (200); nothing is scored"
        in done.out
    )
    assert (
        "note: performance not scored: 150 labelled prediction(s) in the window, fewer than "
        "min_labels (200)" in done.out
    )
    assert result(scored)["status"] == "insufficient_data"
    assert "mlform_feature_drift" not in prom(scored)
    assert "mlform_dataset_drift" not in prom(scored)


def test_old_records_fall_outside_the_window(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 600, seed=9, shift=1.0), age_seconds=7200)  # 2 h ago
    write_log(generate(tmp_path, 300, seed=7), append=True)
    done = monitor(run_cli, scored, "--detailed-exitcode")
    assert done.code == 0
    assert result(scored)["window"]["rows"] == 300
    monitor(run_cli, scored, "--window", "3h")
    assert result(scored)["window"]["rows"] == 900 and result(scored)["data_drift"]["drifted"]


def test_rotated_logs_are_read_oldest_first(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    frame = generate(tmp_path, 400, seed=7)
    write_log(frame.iloc[:250], file="predictions.jsonl.1")
    write_log(frame.iloc[250:], file="predictions.jsonl", append=True)
    monitor(run_cli, scored)
    assert result(scored)["window"]["rows"] == 400
    assert result(scored)["performance"]["labels"] == 400


def test_corrupt_lines_are_skipped_and_located(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 300, seed=7))
    log = scored.logs / "predictions.jsonl"
    lines = log.read_text().splitlines()
    lines.insert(2, '{"timestamp": "2026-01-01T00:00:00.000Z", "request_id": "x", "inputs": ')
    lines.insert(5, '{"timestamp": "2099-01-01T00:00:00.000Z", "request_id": "y"}')
    log.write_text("\n".join(lines) + "\n")
    done = monitor(run_cli, scored)
    assert done.code == 0
    assert f"note: 2 log line(s) skipped as corrupt, e.g. {log}:3: not a JSON object" in done.out
    data = result(scored)
    assert data["window"]["corrupt_lines"] == 2 and data["window"]["rows"] == 300
    assert data["window"]["corrupt_examples"][1] == f"{log}:6: the record lacks 'inputs'"
    assert data["status"] == "ok" and data["alerts"] == []


def test_a_column_missing_from_the_log_is_reported_not_guessed(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 300, seed=7), drop=("income",))
    done = monitor(run_cli, scored)
    assert "note: feature 'income' not scored: missing from every record of the window" in done.out
    data = result(scored)
    assert "income" not in [f["feature"] for f in data["data_drift"]["features"]]
    assert data["data_drift"]["skipped"] == {"income": "missing from every record of the window"}
    assert data["alerts"] == []


def test_labels_that_join_nothing_are_counted_not_scored(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 300, seed=7), labels=None)
    stamp = result_free_stamp()
    with (scored.logs / "feedback.jsonl").open("w") as handle:
        for i in range(250):
            handle.write(
                json.dumps(
                    {
                        "timestamp": stamp,
                        "model": "credit-risk",
                        "request_id": f"nope-{i}",
                        "row": 0,
                        "label": 1,
                    }
                )
                + "\n"
            )
    done = monitor(run_cli, scored)
    assert (
        "note: 250 label(s) match no prediction in the window (unknown request_id/row, or the "
        "prediction is older than the window)" in done.out
    )
    performance = result(scored)["performance"]
    assert performance["status"] == "insufficient_labels" and performance["labels"] == 0
    assert performance["unjoined_labels"] == 250
    assert "mlform_model_performance{" not in prom(scored)
    assert result(scored)["alerts"] == []


def result_free_stamp() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def test_a_table_given_with_input(
    scored: Scored, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    generate(tmp_path, 500, seed=9, shift=1.0)
    source = tmp_path / "data-500-9-1.0.csv"
    done = monitor(run_cli, scored, "--input", str(source), "--detailed-exitcode")
    assert done.code == 2
    assert "note: prediction drift not scored: the window holds no predictions" in done.out
    assert result(scored)["window"]["source"] == str(source)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("monitor", "run", "credit-risk-locl"),
            "Error: no Monitor 'credit-risk-locl' — did you mean 'credit-risk-local'?",
        ),
        (
            ("monitor", "run", MONITOR, "--window", "an hour"),
            "Error: 'an hour' is not a duration like 30s, 15m, 1h or 7d",
        ),
        (("monitor", "run", MONITOR, "--input", "missing.csv"), "Error: missing.csv: no such file"),
        (
            ("monitor", "run", MONITOR, "--input", "mlform.yaml"),
            "Error: mlform.yaml: give a prediction log (.jsonl) or a table (.csv, .parquet)",
        ),
    ],
)
def test_bad_arguments_are_located_errors(
    scored: Scored, run_cli: Callable[..., Run], args: tuple[str, ...], message: str
) -> None:
    done = run_cli(*args, cwd=scored.root)
    assert done.code == 1
    assert done.err.strip() == message
    assert "Traceback" not in done.out + done.err


def test_unreadable_table_is_an_error_not_a_traceback(
    scored: Scored, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    done = monitor(run_cli, scored, "--input", str(bad))
    assert done.code == 1
    assert done.err.startswith(f"Error: {bad}: cannot read it as parquet:")


def test_json_output_is_the_result(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 300, seed=7))
    done = monitor(run_cli, scored, "--format", "json")
    assert json.loads(done.out) == result(scored)


def test_history_keeps_one_line_per_run(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    write_log(generate(tmp_path, 300, seed=7))
    monitor(run_cli, scored)
    monitor(run_cli, scored)
    history = [json.loads(x) for x in (scored.out / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and all(h["status"] == "ok" and h["rows"] == 300 for h in history)
