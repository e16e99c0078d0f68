"""The server's files hold request inputs (income, age) and labels: owner-only whatever
the umask, rotated backups and files left by an older mlform too."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlform.serving import daemon
from mlform.serving.config import PredictionLog
from tests.serving.conftest import Live, Trained, config_for, free_port, row_inputs


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_logs_are_owner_only_whatever_the_umask(trained: Trained, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o755)
    for old in ("predictions.jsonl", "predictions.jsonl.1"):  # from before this mlform
        (logs / old).write_text("")
        (logs / old).chmod(0o644)
    log = PredictionLog(folder=str(logs), max_bytes=4096, backups=3)
    config = config_for(trained, tmp_path, free_port(), log=log)
    previous = os.umask(0o022)
    try:
        live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    finally:
        os.umask(previous)
    try:
        inputs = row_inputs(trained.test.head(5))
        for i in range(20):  # ~1.5 KiB of records per request: rotates several times
            assert (
                live.call(
                    "POST", "/v2/models/credit-risk/infer", {"id": f"r-{i}", "inputs": inputs}
                )[0]
                == 200
            )
        assert (
            live.call("POST", "/v2/models/credit-risk/feedback", {"request_id": "r-1", "label": 1})[
                0
            ]
            == 200
        )
        deadline = time.monotonic() + 30
        while not (logs / "feedback.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        daemon.stop(tmp_path)
    written = sorted(p.name for p in logs.iterdir())
    assert {"predictions.jsonl.2", "predictions.jsonl.3", "feedback.jsonl"} <= set(written)
    assert {name: mode(logs / name) for name in written} == dict.fromkeys(written, 0o600)
    assert mode(logs) == 0o700
    assert mode(tmp_path / "server.log") == 0o600
