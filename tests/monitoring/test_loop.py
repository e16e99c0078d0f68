"""The closed loop on the credit-risk example, for real (git, DVC, the local server):
deploy, drifted traffic with labels, the monitor fires, the policy retrains, the new version
passes its gates and is deployed, and the next window's drift is back under the threshold.
Then: a worse challenger is never deployed, propose mode commits on a branch only, and
feedback without the dataset's columns is refused with nothing changed."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlform.engines.dvc import lock_file
from tests.monitoring.conftest import send
from tests.pipeline_helpers import BIN, edit, env, git
from tests.reconcile.helpers import mlform, state, stop_servers
from tests.serving.conftest import free_port

pytestmark = pytest.mark.slow

MONITOR = "credit-risk-local"


def generate(
    root: Path, out: Path, rows: int, seed: int, shift: float, concept: float = 0.0
) -> Path:
    subprocess.run(
        [
            sys.executable,
            "data/generate.py",
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--shift",
            str(shift),
            "--concept",
            str(concept),
            "--out",
            str(out),
        ],
        cwd=root,
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    base = tmp_path_factory.mktemp("loop")
    mlform("init", "credit-risk", "--example", "credit-risk", cwd=base)
    root = base / "credit-risk"
    port = free_port()
    edit(root / "ml" / "deployment.yaml", "local: {port: 8085}", f"local: {{port: {port}}}")
    edit(root / "ml" / "training.yaml", "budget: {n_iter: 6}", "budget: {n_iter: 2}")
    git("commit", "-qam", "test settings", cwd=root)
    yield root, f"http://127.0.0.1:{port}"
    stop_servers(root)


# What may change in a retrain that is rejected or proposed: git's and DVC's own storage
# (the branch and the run-cache), and the policy's ledgers (the run is logged).
OWN_STORAGE = (".git", ".dvc/cache", ".dvc/tmp", ".mlform/retrain")


def snapshot(root: Path) -> dict[str, str]:
    """The sha256 of every file of the project (tracked, untracked and ignored: every output
    the user sees), and `git status`."""
    files = {}
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if (here / d).relative_to(root).as_posix() not in OWN_STORAGE]
        for name in names:
            path = here / name
            files[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    files["git status"] = git("status", "--porcelain", "--ignored", cwd=root).out
    files["git worktree list"] = str(len(git("worktree", "list", cwd=root).out.splitlines()))
    return files


def differ(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def monitor(root: Path, *args: str) -> dict:  # type: ignore[type-arg]
    mlform("monitor", "run", MONITOR, *args, cwd=root, check=False)
    data: dict = json.loads((root / ".mlform/monitor" / MONITOR / "result.json").read_text())  # type: ignore[type-arg]
    return data


def served(root: Path) -> str:
    return str(state(root)["resources"]["model.credit-risk"]["outputs"]["version"])


def test_the_whole_loop(project: tuple[Path, str], tmp_path: Path) -> None:
    root, url = project
    mlform("apply", "--auto-approve", cwd=root)
    assert served(root) == "v0.1.0"

    # Healthy traffic: no false alarm, nothing to retrain.
    send(root, url, generate(root, tmp_path / "a.csv", 300, 7, 0.0), 300)
    assert mlform("monitor", "run", MONITOR, "--detailed-exitcode", cwd=root).code == 0
    check = mlform("retrain", "check", cwd=root)
    assert "credit-risk-retrain (Model credit-risk, serving v0.1.0): no retrain" in check.out

    # The population moves, and how its defaults follow from the applications with it (the
    # derived debt_to_income carries a shift of incomes and loans alone, so without a
    # change of concept the champion stays as good): drifted traffic, with labels through
    # the feedback path.
    send(root, url, generate(root, tmp_path / "b.csv", 1200, 9, 1.0, 1.0), 1200)
    fired = mlform("monitor", "run", MONITOR, "--detailed-exitcode", cwd=root, check=False)
    assert fired.code == 2, fired.out
    result = json.loads((root / ".mlform/monitor" / MONITOR / "result.json").read_text())
    assert result["alerts"] == ["data_drift"] and result["window"]["rows"] == 1500
    drifted_before = {f["feature"]: f["score"] for f in result["data_drift"]["features"]}
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert (
        'mlform_dataset_drift_detected{monitor="credit-risk-local",model="credit-risk",'
        'version="v0.1.0"} 1.0' in metrics
    )

    # New data lands (the upstream table now reflects the new population).
    generate(root, root / "data" / "credit.csv", 5000, 43, 1.0, 1.0)
    git("commit", "-qam", "new data", cwd=root)
    due = mlform("retrain", "check", cwd=root, check=False)
    assert due.code == 2, due.out
    assert "credit-risk-retrain (Model credit-risk, serving v0.1.0): retrain" in due.out
    assert "  fired  monitor_alert: Monitor 'credit-risk-local' raised data_drift" in due.out
    assert "  fired  new_data: data/credit.csv changed since the pipeline last ran" in due.out

    done = mlform("retrain", "check", "--run", cwd=root)
    assert "Appended 1500 labelled production row(s) to data/credit.csv" in done.out
    assert "challenger wins" in done.out
    assert "model.credit-risk: updated (v0.1.1)" in done.out
    assert "credit-risk-retrain: promoted v0.1.1 — " in done.out
    assert served(root) == "v0.1.1"
    assert "mlform retrain: credit-risk" in git("log", "-1", "--format=%s", cwd=root).out
    assert git("status", "--porcelain", "--", "data", "dvc.lock", cwd=root).out == ""
    status = mlform("status", cwd=root)
    assert "Environment default: Synced, Healthy" in status.out

    # The next window, scored against v0.1.1's training data: drift is back under the bar.
    start = time.time()
    send(root, url, generate(root, tmp_path / "c.csv", 600, 11, 1.0, 1.0), 600)
    window = f"{math.ceil(time.time() - start) + 1}s"
    after = monitor(root, "--window", window)
    assert after["version"] == "v0.1.1" and after["window"]["rows"] == 600
    assert not after["data_drift"]["detected"], after["data_drift"]
    scores = {f["feature"]: f for f in after["data_drift"]["features"]}
    for feature in ("income", "loan_amount", "age"):
        assert not scores[feature]["drifted"] and scores[feature]["score"] < drifted_before[feature]
    # Retrained just now: the policy stays quiet (or its cooldown holds it back).
    again = mlform("retrain", "check", cwd=root)
    assert "serving v0.1.1): no retrain" in again.out or "blocked — cooldown" in again.out


def test_a_worse_challenger_is_never_deployed(project: tuple[Path, str], tmp_path: Path) -> None:
    root, url = project
    before = served(root)
    send(root, url, generate(root, tmp_path / "d.csv", 300, 13, 1.0, 1.0), 300)
    model = root / "ml" / "model.yaml"
    edit(model, "roc_auc: {min: 0.70}", "roc_auc: {min: 0.50}")  # gates let it through…
    edit(model, "log_loss: {max: 0.60}", "log_loss: {max: 0.90}")
    edit(model, "    no_regression: {stage: production, metric: roc_auc, tolerance: 0.01}\n", "")
    edit(model, "      max: 0.10\n", "      max: 1.0\n")
    training = root / "ml" / "training.yaml"  # …but a single stump is worse than the champion
    text = training.read_text()
    training.write_text(
        text[: text.index("  estimator:")]
        + "  estimator:\n    class: HistGradientBoostingClassifier\n"
        + "    params: {max_iter: 1, max_leaf_nodes: 2}\n"
        + text[text.index("  metrics:") :]
    )
    git("commit", "-qam", "a weak training", cwd=root)  # and not compiled: the specs count
    status = mlform("status", cwd=root).out
    data = (root / "data" / "credit.csv").read_bytes()
    lock = lock_file(root).read_bytes()
    tags = git("tag", cwd=root).out
    files = snapshot(root)
    done = mlform("retrain", "run", "credit-risk", cwd=root, check=False)
    assert done.code == 2, done.out
    assert "challenger loses" in done.out
    assert "Nothing was registered or deployed; the workspace is as it was." in done.out
    assert (root / "data" / "credit.csv").read_bytes() == data
    assert lock_file(root).read_bytes() == lock
    assert differ(files, snapshot(root)) == []  # every output too: checks.json, metrics, …
    assert mlform("status", cwd=root).out == status
    assert git("tag", cwd=root).out == tags
    assert served(root) == before
    runs = (root / ".mlform/retrain/credit-risk-retrain/runs.jsonl").read_text().splitlines()
    assert json.loads(runs[-1])["outcome"] == "rejected"
    git("revert", "--no-edit", "HEAD", cwd=root)


def test_propose_mode_commits_on_a_branch_only(project: tuple[Path, str], tmp_path: Path) -> None:
    root, url = project
    send(root, url, generate(root, tmp_path / "e.csv", 300, 15, 1.0, 1.0), 300)
    policy = root / "ml" / "retrain.yaml"
    edit(policy, "mode: auto", "mode: propose")
    edit(policy, "min_improvement: 0.0", "min_improvement: 1")  # nothing can win
    git("commit", "-qam", "propose retrains", cwd=root)
    mlform("apply", "--auto-approve", cwd=root)
    assert "Environment default: Synced, Healthy" in mlform("status", cwd=root).out
    files = snapshot(root)
    rejected = mlform("retrain", "run", "credit-risk", cwd=root, check=False)
    assert rejected.code == 2 and "challenger loses" in rejected.out, rejected.out
    assert differ(files, snapshot(root)) == []
    assert "Environment default: Synced, Healthy" in mlform("status", cwd=root).out

    # Killed half way (in the pipeline): the workspace is as it was; the next run cleans up.
    killed = subprocess.Popen(
        [str(BIN / "mlform"), "retrain", "run", "credit-risk", "--force"],
        cwd=root,
        env={**env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert killed.stdout is not None
    for line in killed.stdout:
        if line.startswith("dvc repro review-credit-risk"):
            os.killpg(killed.pid, signal.SIGKILL)
            break
    killed.wait()
    # Left over: the scratch (a git worktree), and the environment's lock of a dead process,
    # which the next command removes ("Removed a stale lock").
    assert differ(files, snapshot(root)) == [".mlform/state/default.lock", "git worktree list"]
    assert "Environment default: Synced, Healthy" in mlform("status", cwd=root).out

    edit(policy, "min_improvement: 1", "min_improvement: -1")
    git("commit", "-qam", "propose any retrain", cwd=root)
    mlform("apply", "--auto-approve", cwd=root)
    head = git("rev-parse", "HEAD", cwd=root).out.strip()
    data = (root / "data" / "credit.csv").read_bytes()
    before = served(root)
    files = {**snapshot(root), "git worktree list": "1"}  # the next run removes the scratch
    done = mlform("retrain", "run", "credit-risk", cwd=root)
    assert "Retrain proposed: committed on branch mlform/retrain-credit-risk-" in done.out
    branch = done.out.split("committed on branch ")[1].split()[0]
    assert git("rev-parse", "HEAD", cwd=root).out.strip() == head
    assert (root / "data" / "credit.csv").read_bytes() == data
    # the challenger's pipeline, ONNX, checks, metrics and review stayed in its scratch
    assert differ(files, snapshot(root)) == []
    assert "Environment default: Synced, Healthy" in mlform("status", cwd=root).out
    assert served(root) == before
    changed = git("diff", "--name-only", head, branch, cwd=root).out.split()
    assert changed == ["data/credit.csv"]  # dvc.lock is per checkout (ignored by init)
    appended = int(done.out.split("Appended ")[1].split()[0])
    assert appended >= 300  # this test's rows, and those the rejected retrain did not keep
    proposed = git("show", f"{branch}:data/credit.csv", cwd=root).out
    assert proposed.count("\n") == data.count(b"\n") + appended


def test_feedback_without_the_dataset_columns_is_skipped_and_reported(
    project: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = project
    rows = generate(root, tmp_path / "f.csv", 50, 17, 0.0)
    send(root, url, rows, 50, "--no-columns")
    data = (root / "data" / "credit.csv").read_bytes()
    lock = lock_file(root).read_bytes()
    done = mlform("retrain", "run", "credit-risk", cwd=root, check=False)
    assert done.code == 2, done.out
    assert (
        "note: skipped 50 labelled row(s) that lack values Dataset 'credit' requires: "
        "applicant_id (50), applied_at (50), sex (50); send them in the feedback's `columns` "
        "(see docs/monitoring.md)" in done.out
    )
    assert "Appended 0 labelled production row(s) to data/credit.csv" in done.out
    assert (
        "Rejected: nothing new to train on: no labelled production rows to add, and "
        "data/credit.csv is unchanged since the pipeline last ran." in done.out
    )
    assert (root / "data" / "credit.csv").read_bytes() == data
    assert lock_file(root).read_bytes() == lock


def test_a_canary_first_then_promotion(project: tuple[Path, str], tmp_path: Path) -> None:
    root, url = project
    edit(root / "ml" / "retrain.yaml", "mode: propose", "mode: auto")
    edit(
        root / "ml" / "deployment.yaml",
        "  protocol: v2\n  local:",
        "  protocol: v2\n  canary: {traffic_percent: 20}\n  local:",
    )
    git("commit", "-qam", "canary rollouts", cwd=root)
    mlform("apply", "--auto-approve", cwd=root)
    before = served(root)
    send(root, url, generate(root, tmp_path / "g.csv", 300, 19, 1.0, 1.0), 300)
    done = mlform("retrain", "run", "credit-risk", cwd=root)
    new = served(root)
    assert new != before
    assert f"serving {before} (80%), {new} (20%)" in done.out
    status = mlform("status", cwd=root).out
    assert "Progressing" in status
    promoted = mlform("server", "promote", "credit-risk-local", cwd=root)
    assert (
        promoted.out.strip()
        == f"Promoted credit-risk@{new} to 100% of 'credit-risk-local's traffic."
    )
    assert "Environment default: Synced, Healthy" in mlform("status", cwd=root).out
    assert mlform("plan", "--detailed-exitcode", cwd=root, check=False).code == 0
    again = mlform("server", "promote", "credit-risk-local", cwd=root, check=False)
    assert again.code == 1
    assert (
        f"Error: Deployment 'credit-risk-local' serves {new} (100%): there is no canary to promote"
        in again.out
    )


def test_bad_feedback_is_listed_dropped_and_not_retried(
    project: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = project
    policy = root / "ml" / "retrain.yaml"
    edit(policy, "min_improvement: -1", "min_improvement: 1")  # every challenger loses
    edit(policy, "cooldown: 24h", "cooldown: 1s")
    edit(policy, "max_frequency: {count: 2, per: 7d}", "max_frequency: {count: 50, per: 7d}")
    git("commit", "-qam", "strict policy", cwd=root)
    mlform("apply", "--auto-approve", cwd=root)
    generate(root, root / "data" / "credit.csv", 3000, 44, 1.0, 1.0)
    git("commit", "-qam", "new data", cwd=root)  # the new_data trigger fires
    rows = generate(root, tmp_path / "h.csv", 60, 21, 0.0)
    send(root, url, rows, 60)
    send(root, url, rows, 60)  # the same rows again: duplicates
    listed = mlform("feedback", "list", "credit-risk", cwd=root).out.splitlines()
    assert listed[0].split() == ["ID", "TIME", "DEPLOYMENT", "REQUEST:ROW", "LABEL", "STATUS"]
    records = json.loads(
        mlform("feedback", "list", "credit-risk", "--format", "json", cwd=root).out
    )
    pending = [r for r in records if r["status"] == "pending"]
    assert len(pending) == 120 + 50  # and the 50 without the dataset's columns, still there
    taken = sum(r["status"] == "taken" for r in records)
    assert listed[-1] == (
        f"{len(records)} feedback record(s) of Model 'credit-risk': 170 pending, {taken} taken"
    )

    rejected = mlform("retrain", "run", "credit-risk", cwd=root, check=False)
    assert rejected.code == 2 and "challenger loses" in rejected.out, rejected.out
    assert (
        "note: 60 labelled row(s) repeat another row exactly (inputs, columns and label); "
        "each distinct row is appended once" in rejected.out
    )
    assert "Appended 60 labelled production row(s) to data/credit.csv" in rejected.out
    # Not tried again in a loop, and the rejection did not start the cooldown.
    check = mlform("retrain", "check", cwd=root)
    assert check.code == 0, check.out
    head = check.out.splitlines()[0]
    assert head.startswith(
        f"credit-risk-retrain (Model credit-risk, serving {served(root)}): blocked — "
        "the same inputs were rejected at "
    ), head
    assert "60 labelled row(s), the same specs (fingerprint " in head
    assert "`mlform retrain run --force` tries again now" in head
    skipped = mlform("retrain", "run", "credit-risk", cwd=root, check=False)
    assert skipped.code == 2
    assert skipped.out.startswith("Retrain skipped: the same inputs were rejected at "), skipped.out
    runs = (root / ".mlform/retrain/credit-risk-retrain/runs.jsonl").read_text().splitlines()
    assert [json.loads(r)["outcome"] for r in runs[-2:]] == ["rejected", "skipped"]


def test_feedback_drop(project: tuple[Path, str]) -> None:
    root, _ = project
    records = json.loads(
        mlform("feedback", "list", "credit-risk", "--format", "json", cwd=root).out
    )
    pending = [r for r in records if r["status"] == "pending"][-120:]  # the rejected retrain's
    taken = sum(r["status"] == "taken" for r in records)
    # Dropping feedback needs the server stopped (it keeps the log open).
    refused = mlform("feedback", "drop", "credit-risk", "--all", cwd=root, check=False)
    assert refused.code == 1
    assert "the server of Deployment 'credit-risk-local' (pid " in refused.out
    assert "Stop it (`mlform server stop credit-risk-local`), drop, then start it again." in (
        refused.out
    )
    mlform("server", "stop", "credit-risk-local", cwd=root)
    log = root / ".mlform/serve/credit-risk-local/logs/feedback.jsonl"
    original = log.read_bytes()
    unknown = mlform(
        "feedback", "drop", "credit-risk", "--id", "0123456789ab", cwd=root, check=False
    )
    assert unknown.code == 1 and (
        "Error: no feedback record '0123456789ab' of Model 'credit-risk' "
        "(`mlform feedback list credit-risk` shows them)" in unknown.out
    )
    one = mlform("feedback", "drop", "credit-risk", "--id", pending[0]["id"], cwd=root)
    assert one.out.splitlines()[0] == "Dropped 1 feedback record(s) of Model 'credit-risk'."
    backup = Path(one.out.splitlines()[1].split("backup: ")[1])
    assert backup.read_bytes() == original and backup.stat().st_mode & 0o777 == 0o600
    assert log.stat().st_mode & 0o777 == 0o600
    assert len(log.read_bytes().splitlines()) == len(original.splitlines()) - 1
    ids = [p["id"] for p in pending[1:]]
    rest = mlform(
        "feedback", "drop", "credit-risk", *[a for i in ids for a in ("--id", i)], cwd=root
    )
    assert rest.out.splitlines()[0] == "Dropped 119 feedback record(s) of Model 'credit-risk'."
    after = mlform("feedback", "list", "credit-risk", cwd=root).out.splitlines()[-1]
    assert (
        after
        == f"{taken + 50} feedback record(s) of Model 'credit-risk': 50 pending, {taken} taken"
    )
    # Without the bad feedback the inputs differ: the retrain is due again.
    due = mlform("retrain", "check", cwd=root, check=False)
    assert due.code == 2, due.out
    assert "  fired  new_data: data/credit.csv changed since the pipeline last ran" in due.out
