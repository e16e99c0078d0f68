"""The prediction log under load: batched off the request path, bounded (drops counted on
/metrics, never a failed request), sampled by request id, complete after a hot swap and a
clean stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from mlform.serving import daemon
from mlform.serving.config import PredictionLog
from mlform.serving.predlog import sampled
from tests.conftest import REPO
from tests.serving.conftest import Live, Trained, config_for, free_port, row_inputs

SECONDS = 8


def records(folder: Path) -> list[dict[str, object]]:
    """Every line of the prediction log and its backups, each parsed (a bad line fails)."""
    out = []
    for path in sorted(folder.glob("predictions.jsonl*")):
        for line in path.read_bytes().splitlines():
            out.append(json.loads(line))
    return out


def dropped(live: Live) -> int:
    status, text = live.call("GET", "/metrics")
    assert status == 200
    line = next(x for x in text.splitlines() if x.startswith("mlform_prediction_log_dropped_total"))
    return int(line.split()[1])


def test_every_request_is_logged_whole_across_a_hot_swap(trained: Trained, tmp_path: Path) -> None:
    # Small files, so the writer rotates many times under load.
    log = PredictionLog(folder=str(tmp_path / "logs"), max_bytes=256 * 1024, backups=400)
    config = config_for(trained, tmp_path, free_port(), log=log)
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
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(SECONDS / 2)
        swapped = daemon.apply(
            tmp_path, config_for(trained, tmp_path, config.port, (0, 100), log=log)
        )
        assert swapped.status["generation"] == 2
        out, _ = load.communicate(timeout=SECONDS + 60)
        live = Live(running.url, tmp_path, config)
        assert dropped(live) == 0
    finally:
        load.kill()
        daemon.stop(tmp_path)  # a clean stop: what is buffered is written
    result = json.loads(out)
    assert result["errors"] == {}
    assert result["statuses"] == {"200": result["requests"]}
    assert result["versions"]["v0.1.0"] > 0 and result["versions"]["v0.2.0"] > 0
    logged = records(tmp_path / "logs")  # every line valid JSON
    assert len(list((tmp_path / "logs").glob("predictions.jsonl.*"))) > 1  # it rotated
    # One record per request, under the version that answered it.
    assert Counter(str(r["version"]) for r in logged) == Counter(result["versions"])
    assert len({r["request_id"] for r in logged}) == result["requests"]
    first = logged[0]
    assert set(first) == {
        "timestamp",
        "request_id",
        "row",
        "deployment",
        "model",
        "version",
        "protocol",
        "inputs",
        "outputs",
    }
    assert first["inputs"] == {
        k: (v if isinstance(v, str) else float(v))
        for k, v in trained.test.head(1).iloc[0][list(first["inputs"])].items()  # type: ignore[call-overload]
    }


def test_rows_over_a_full_buffer_are_dropped_and_counted(trained: Trained, tmp_path: Path) -> None:
    log = PredictionLog(folder=str(tmp_path / "logs"), buffer_rows=4)
    config = config_for(trained, tmp_path, free_port(), log=log)
    live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    try:
        five = row_inputs(trained.test.head(5))  # 5 rows never fit in 4
        for i in range(10):
            status, answer = live.call(
                "POST", "/v2/models/credit-risk/infer", {"id": f"big-{i}", "inputs": five}
            )
            assert status == 200 and answer["outputs"][0]["shape"][0] == 5
        assert dropped(live) == 50
        one = row_inputs(trained.test.head(1))
        assert (
            live.call("POST", "/v2/models/credit-risk/infer", {"id": "fits", "inputs": one})[0]
            == 200
        )
    finally:
        daemon.stop(tmp_path)
    assert [r["request_id"] for r in records(tmp_path / "logs")] == ["fits"]


def test_sampling_is_decided_by_the_request_id(trained: Trained, tmp_path: Path) -> None:
    log = PredictionLog(folder=str(tmp_path / "logs"), sample_rate=0.3)
    config = config_for(trained, tmp_path, free_port(), log=log)
    live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    ids = [f"sample-{i}" for i in range(60)]
    try:
        for identifier in ids:
            body = {"id": identifier, "inputs": row_inputs(trained.test.head(2))}
            assert live.call("POST", "/v2/models/credit-risk/infer", body)[0] == 200
    finally:
        daemon.stop(tmp_path)
    logged = records(tmp_path / "logs")
    expected = [i for i in ids if sampled(i, 0.3)]
    assert 0 < len(expected) < len(ids)
    assert [(r["request_id"], r["row"]) for r in logged] == [
        (i, row) for i in expected for row in (0, 1)
    ]


def test_the_sampling_decision_is_the_same_in_every_process() -> None:
    ids = [f"request-{i}" for i in range(2000)]
    here = "".join("1" if sampled(i, 0.1) else "0" for i in ids)
    code = (
        "from mlform.serving.predlog import sampled; "
        "print(''.join('1' if sampled(f'request-{i}', 0.1) else '0' for i in range(2000)))"
    )
    for seed in ("0", "12345"):
        other = subprocess.run(
            [sys.executable, "-c", code],
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert other == here
    share = here.count("1") / len(ids)
    assert 0.08 < share < 0.12
    assert all(sampled(i, 1.0) for i in ids[:50])
