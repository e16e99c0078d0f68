"""The prediction log's retention: sized by compile for the longest Monitor window at the
Deployment's design rate; the files rotate by size as before."""

from __future__ import annotations

import json
from pathlib import Path

import mlform
from mlform.serving.deploy import MIN_BACKUPS, prediction_log, record_bytes, retention
from mlform.serving.logfile import RotatingFile
from mlform.spec import Deployment
from tests.conftest import copy_example

MIB = 1024 * 1024
RECORD = {
    "signature": [{"name": n, "datatype": "FP64"} for n in ("age", "income", "loan_amount")],
    "classes": [0, 1],
}


def test_record_size_estimate_is_above_what_the_server_writes() -> None:
    written = json.dumps(
        {
            "timestamp": "2026-11-26T23:59:59.123Z",
            "request_id": "0" * 64,
            "row": 0,
            "deployment": "credit-risk-local",
            "model": "credit-risk",
            "version": "v10.20.30",
            "protocol": "v2",
            "inputs": {
                "age": 1.0000000000000002e-300,
                "income": -123456.78901234567,
                "loan_amount": 2.2250738585072014e-308,
            },
            "outputs": {"label": 1, "probabilities": [0.12345678901234568, 0.8765432109876543]},
        },
        separators=(",", ":"),
    )
    estimate = record_bytes("credit-risk-local", "credit-risk", RECORD)
    assert len(written) + 1 <= estimate <= 2 * (len(written) + 1)


def test_retention_covers_the_longest_window_at_the_design_rate() -> None:
    # 1 day at 100 rows/s of 500-byte records: 4.32 GB = 258 files of 16 MiB kept
    assert retention([3600.0, 86400.0], 100.0, 1.0, 500) == (16 * MIB, 258)
    assert retention([86400.0], 100.0, 0.1, 500) == (16 * MIB, 26)  # sampled: a tenth
    assert retention([], 100.0, 1.0, 500) == (16 * MIB, MIN_BACKUPS)  # no Monitor
    assert retention([60.0], 1.0, 1.0, 500) == (16 * MIB, MIN_BACKUPS)  # never below today's
    assert retention([7 * 86400.0], 1e6, 1.0, 10_000)[1] == 10_000  # bounded


def test_compile_sizes_the_log_for_the_deployment_s_monitors(tmp_path: Path) -> None:
    root = copy_example("credit-risk", tmp_path / "credit-risk")
    monitor = root / "ml" / "monitor.yaml"
    monitor.write_text(monitor.read_text().replace("window: 1h", "window: 6h", 1))
    deployment = root / "ml" / "deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace(
            "  local: {port: 8085}\n",
            "  local: {port: 8085}\n  prediction_log: {sample: 0.5, design_rate: 200}\n",
            1,
        )
    )
    graph = mlform.load(root)
    local = graph.named(Deployment, "credit-risk-local")
    log = prediction_log(graph, local, RECORD, "/logs")
    row = record_bytes("credit-risk-local", "credit-risk", RECORD)
    assert log.sample_rate == 0.5
    assert (log.max_bytes, log.backups) == retention([6 * 3600.0], 200.0, 0.5, row)
    assert (
        log.backups * log.max_bytes
        >= 6 * 3600 * 200 * 0.5 * row
        > (log.backups - 1) * log.max_bytes
    )


def test_files_rotate_by_size_oldest_removed(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "predictions.jsonl"
    log = RotatingFile(path, max_bytes=100, backups=2)
    for i in range(10):
        log.write([b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 30)])  # 41 bytes: two a file
    log.close()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["predictions.jsonl", "predictions.jsonl.1", "predictions.jsonl.2"]
    numbers = [
        [json.loads(line)["n"] for line in (path.parent / name).read_text().splitlines()]
        for name in ("predictions.jsonl.2", "predictions.jsonl.1", "predictions.jsonl")
    ]
    assert numbers == [[4, 5], [6, 7], [8, 9]]
    assert all((path.parent / n).stat().st_mode & 0o777 == 0o600 for n in names)
    assert path.parent.stat().st_mode & 0o777 == 0o700
    keep = RotatingFile(tmp_path / "fb" / "feedback.jsonl", max_bytes=100, backups=1, keep=True)
    for i in range(6):
        keep.write([b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 30)])
    keep.close()
    assert [
        len((tmp_path / "fb" / n).read_text().splitlines())
        for n in ("feedback.jsonl.1", "feedback.jsonl")
    ] == [2, 4]
