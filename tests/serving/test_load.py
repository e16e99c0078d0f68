"""60 s of load from a second process on 127.0.0.1, with a hot swap of the model version in
the middle: zero failed requests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlform.serving import daemon
from tests.conftest import REPO
from tests.serving.conftest import Trained, config_for, free_port, row_inputs

pytestmark = pytest.mark.slow
SECONDS = 60


def test_sixty_seconds_of_load_with_a_hot_swap(trained: Trained, tmp_path: Path) -> None:
    config = config_for(trained, tmp_path, free_port())
    running = daemon.apply(tmp_path, config)
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"inputs": row_inputs(trained.test.head(1))}))
    load = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "benchmarks" / "loadgen.py"),
            f"{running.url}/v2/models/credit-risk/infer",
            str(body),
            "--concurrency",
            "8",
            "--seconds",
            str(SECONDS),
            "--max-requests",
            "2000000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(SECONDS / 2)
        swapped = daemon.apply(tmp_path, config_for(trained, tmp_path, config.port, (0, 100)))
        assert swapped.status["generation"] == 2
        out, _ = load.communicate(timeout=SECONDS + 30)
    finally:
        load.kill()
        daemon.stop(tmp_path)
    result = json.loads(out)
    assert result["errors"] == {}
    assert result["statuses"] == {"200": result["requests"]}
    assert result["requests"] > 10_000
    assert result["versions"]["v0.1.0"] > 0 and result["versions"]["v0.2.0"] > 0
    print(
        f"\n{result['requests']:,} requests in {result['seconds']} s ({result['throughput']}/s), p99 {result['p99_ms']} ms, versions {result['versions']}"
    )
