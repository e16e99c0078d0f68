"""A real Prometheus on 127.0.0.1 scrapes the local server (its own metrics and the monitor's
drift scores), loads the rendered rules that `apply` installs (and asks it to reload), and the
drift alert becomes firing through Prometheus's API after drifted traffic — and not before."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlform.reconcile.state import State
from tests import requires
from tests.monitoring.conftest import send
from tests.pipeline_helpers import edit, git
from tests.reconcile.helpers import mlform, stop_servers
from tests.serving.conftest import free_port

pytestmark = pytest.mark.slow

MONITOR = "credit-risk-local"


@dataclass
class Stack:
    root: Path
    server: str
    prometheus: str


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def alerts(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for alert in get(f"{stack.prometheus}/api/v1/alerts")["data"]["alerts"]:
        found.setdefault(alert["labels"]["alertname"], []).append(alert)
    return found


def wait_for(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = requires.program("prometheus", "prometheus")
    base = tmp_path_factory.mktemp("prometheus")
    mlform("init", "credit-risk", "--example", "credit-risk", cwd=base)
    root = base / "credit-risk"
    port, prom_port = free_port(), free_port()
    edit(root / "ml" / "deployment.yaml", "local: {port: 8085}", f"local: {{port: {port}}}")
    edit(root / "ml" / "training.yaml", "budget: {n_iter: 6}", "budget: {n_iter: 2}")
    edit(root / "ml" / "monitor.yaml", "    for: 10m", "    for: 2s\n    evaluation_interval: 1s")
    edit(
        root / "mlform.yaml",
        "spec:\n",
        f"spec:\n  monitoring: {{prometheus_url: 'http://127.0.0.1:{prom_port}'}}\n",
    )
    git("commit", "-qam", "test settings", cwd=root)
    config = base / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{root}/monitoring/rules/*.rules.yml']\n"
        "scrape_configs:\n"
        "  - job_name: mlform\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    log = (base / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={base / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{prom_port}"
    try:
        wait_for(lambda: _ready(url), 30, "Prometheus to start")
        yield Stack(root, f"http://127.0.0.1:{port}", url)
    finally:
        stop_servers(root)
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_apply_installs_the_rules_and_prometheus_reloads_them(stack: Stack) -> None:
    done = mlform("apply", "--auto-approve", cwd=stack.root)
    assert "monitor.credit-risk-local: created" in done.out
    state = State.load(stack.root, "default")  # the snapshot with its journal replayed
    outputs = state.resources["monitor.credit-risk-local"]["outputs"]
    assert outputs["prometheus"] == f"Prometheus reloaded its rules ({stack.prometheus}/-/reload)"
    groups = get(f"{stack.prometheus}/api/v1/rules")["data"]["groups"]
    assert [g["name"] for g in groups] == ["mlform-credit-risk-local"]
    assert len(groups[0]["rules"]) == 11
    wait_for(
        lambda: any(
            t["health"] == "up"
            for t in get(f"{stack.prometheus}/api/v1/targets")["data"]["activeTargets"]
        ),
        30,
        "Prometheus to scrape the local server",
    )


def test_healthy_traffic_fires_no_drift_alert(stack: Stack, tmp_path: Path) -> None:
    csv = tmp_path / "healthy.csv"
    subprocess.run(
        [sys.executable, "data/generate.py", "--rows", "400", "--seed", "7", "--out", str(csv)],
        cwd=stack.root,
        check=True,
    )
    send(stack.root, stack.server, csv, 400)
    mlform("monitor", "run", MONITOR, cwd=stack.root)
    query = f"{stack.prometheus}/api/v1/query?query=mlform_dataset_drift_share"
    wait_for(lambda: get(query)["data"]["result"], 30, "the drift share to be scraped")
    time.sleep(4)  # several evaluations with `for: 2s`
    found = alerts(stack)
    assert "MLformDatasetDrift" not in found and "MLformFeatureDrift" not in found


def test_drifted_traffic_fires_the_drift_alert(stack: Stack, tmp_path: Path) -> None:
    csv = tmp_path / "drifted.csv"
    subprocess.run(
        [
            sys.executable,
            "data/generate.py",
            "--rows",
            "1600",
            "--seed",
            "9",
            "--shift",
            "1",
            "--out",
            str(csv),
        ],
        cwd=stack.root,
        check=True,
    )
    send(stack.root, stack.server, csv, 1600)
    mlform("monitor", "run", MONITOR, cwd=stack.root)

    def firing() -> list[dict[str, Any]]:
        return [a for a in alerts(stack).get("MLformDatasetDrift", []) if a["state"] == "firing"]

    (alert,) = wait_for(firing, 60, "MLformDatasetDrift to fire")
    assert alert["labels"]["objective"] == "data_drift"
    assert alert["labels"]["team"] == "risk-ml" and alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["description"].startswith("0.")
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/credit-risk"
    features = {a["labels"]["feature"] for a in alerts(stack).get("MLformFeatureDrift", [])}
    assert {"income", "loan_amount"} <= features
    # The retrain policy sees the alert through Prometheus's API too.
    check = mlform("retrain", "check", cwd=stack.root, check=False)
    assert check.code == 2
    assert "(Prometheus alert MLformDatasetDrift)" in check.out


def test_requests_with_unseen_categories_fire_the_data_quality_alert(
    stack: Stack, tmp_path: Path
) -> None:
    import pandas as pd

    csv = tmp_path / "unseen.csv"
    subprocess.run(
        [sys.executable, "data/generate.py", "--rows", "400", "--seed", "5", "--out", str(csv)],
        cwd=stack.root,
        check=True,
    )
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    frame.loc[:39, "purpose"] = "crypto"  # a category the model never saw
    frame.to_csv(csv, index=False)
    send(stack.root, stack.server, csv, 400)
    mlform("monitor", "run", MONITOR, cwd=stack.root)

    def firing() -> list[dict[str, Any]]:
        return [a for a in alerts(stack).get("MLformDataQuality", []) if a["state"] == "firing"]

    (alert,) = wait_for(firing, 60, "MLformDataQuality to fire")
    labels = alert["labels"]
    assert (labels["objective"], labels["feature"], labels["check"]) == (
        "data_quality",
        "purpose",
        "unseen_category",
    )
    assert alert["annotations"]["description"].endswith(
        "of the window's requests to credit-risk fail the Dataset's unseen_category check "
        "on column purpose."
    )
