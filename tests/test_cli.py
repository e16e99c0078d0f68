"""What a user sees at the command line: output, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, build_tree


def test_valid_project(credit: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("validate", cwd=credit)
    assert result.code == 0
    assert result.out == "Success! 9 documents in 8 files are valid.\n"


def test_validate_from_a_subfolder_and_by_path(
    credit: Path, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    assert run_cli("validate", cwd=credit / "ml").code == 0
    result = run_cli("validate", str(credit), cwd=tmp_path)
    assert result.code == 0


def test_paths_are_relative_to_the_working_folder(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    (credit / "ml" / "model.yaml").write_text(
        (credit / "ml" / "model.yaml")
        .read_text()
        .replace("roc_auc: {min: 0.70}", "roc_auc: {minimum: 0.70}")
    )
    result = run_cli("validate", "credit-risk", cwd=credit.parent)
    assert result.out.splitlines()[0].startswith("credit-risk/ml/model.yaml:15:17: error E105:")


def test_json_format(credit: Path, run_cli: Callable[..., Run]) -> None:
    model = credit / "ml" / "model.yaml"
    model.write_text(model.read_text().replace("training: credit-gbm", "training: credit-gmb"))
    result = run_cli("validate", "--format", "json", cwd=credit)
    assert result.code == 1
    payload = json.loads(result.out)
    assert payload["valid"] is False
    assert (payload["error_count"], payload["warning_count"]) == (1, 0)
    (diagnostic,) = payload["diagnostics"]
    assert diagnostic == {
        "severity": "error",
        "code": "E202",
        "summary": "Training 'credit-gmb' is not defined — did you mean 'credit-gbm'?",
        "detail": "ml/model.yaml:9:13: error E202: Model 'credit-risk': spec.training: "
        "Training 'credit-gmb' is not defined — did you mean 'credit-gbm'?",
        "document": "Model 'credit-risk'",
        "field": "spec.training",
        "range": {"filename": "ml/model.yaml", "start": {"line": 9, "column": 13}},
    }


def test_errors_are_reported_before_warnings_with_a_summary(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    model = credit / "ml" / "model.yaml"
    text = model.read_text().replace("log_loss: {max: 0.60}", "log_loss: {min: 0.1}")
    model.write_text(text)
    deployment = credit / "ml" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("port: 8085", "port: 0"))
    result = run_cli("validate", cwd=credit)
    lines = result.out.splitlines()
    assert [line.split(": ")[1].split(" ")[0] for line in lines[:-1]] == ["error", "warning"]
    assert lines[0].startswith("ml/deployment.yaml:12:17: error E103:")
    assert lines[1].startswith("ml/model.yaml:16:17: warning W008:")
    assert lines[-1] == "Found 1 error and 1 warning in 9 documents of 8 files."


def test_no_project(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("validate", cwd=tmp_path)
    assert result.code == 1
    assert result.err.startswith("Error: no mlform.yaml found in . or any parent folder")


def test_usage_error(credit: Path, run_cli: Callable[..., Run]) -> None:
    result = run_cli("validate", "--formt", "json", cwd=credit)
    assert result.code == 2
    assert "Error: No such option '--formt'. Did you mean '--format'?" in result.err


def test_unexpected_error_gives_a_bug_report(
    credit: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("mlform.validation.validate", boom)
    monkeypatch.setenv("MLFORM_LOG_DIR", str(tmp_path / "logs"))
    result = run_cli("validate", cwd=credit)
    assert result.code == 3
    assert "This is a bug in mlform" in result.err
    assert "error: RuntimeError: kaboom" in result.err
    assert "Traceback" not in result.err
    (log,) = (tmp_path / "logs").iterdir()
    assert "Traceback" in log.read_text() and "kaboom" in log.read_text()


def test_crash_reports_go_to_a_folder_of_the_users_own(
    credit: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not a shared /tmp/mlform another user could make first (reports hold argv)."""
    monkeypatch.setattr("mlform.validation.validate", lambda *_: 1 / 0)
    monkeypatch.delenv("MLFORM_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    old = os.umask(0)
    try:
        result = run_cli("validate", cwd=credit)
    finally:
        os.umask(old)
    assert result.code == 3
    folder = tmp_path / "state" / "mlform" / "crash"
    (log,) = folder.iterdir()
    assert f"full traceback: {log}" in result.err
    assert (folder.stat().st_mode & 0o777, log.stat().st_mode & 0o777) == (0o700, 0o600)


def test_ctrl_c_exits_130(
    credit: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("mlform.validation.validate", interrupted)
    result = run_cli("validate", cwd=credit)
    assert result.code == 130
    assert "Traceback" not in result.err


def test_symlinks_leaving_the_project_are_not_read(
    credit: Path, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    outside = build_tree(tmp_path / "outside", {"secret.yaml": "apiVersion: mlform/v1\n"})
    os.symlink(outside / "secret.yaml", credit / "ml" / "secret.yaml")
    os.symlink(outside, credit / "ml" / "linked")
    result = run_cli("validate", cwd=credit)
    assert result.code == 1
    assert result.out.splitlines()[:2] == [
        "ml/linked: error E006: symlinked folder leaves the project; skipped",
        "ml/secret.yaml: error E006: symlink leaves the project; not read",
    ]


def test_symlinks_inside_the_project_are_followed(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    (credit / "shared").mkdir()
    (credit / "ml" / "monitor.yaml").rename(credit / "shared" / "monitor.yaml")
    os.symlink(credit / "shared" / "monitor.yaml", credit / "ml" / "monitor.yaml")
    assert run_cli("validate", cwd=credit).code == 0


def test_every_problem_of_every_file_at_once(credit: Path, run_cli: Callable[..., Run]) -> None:
    (credit / "ml" / "a.yaml").write_bytes(b"\xff\n")
    (credit / "ml" / "b.yaml").write_text("kind: Dataset\n")
    (credit / "ml" / "c.yaml").write_text("a: [\n")
    (credit / "ml" / "d.yaml").write_text("")
    result = run_cli("validate", cwd=credit)
    codes = [line.split(": ")[1] for line in result.out.splitlines()[:-1]]
    assert codes == ["error E003", "error E102", "error E001", "warning W001"]


def test_project_document_rules(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    root = build_tree(
        tmp_path / "p",
        {
            "mlform.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: p}\n",
            "other.yaml": "apiVersion: mlform/v1\nkind: Project\nmetadata: {name: q}\n",
        },
    )
    result = run_cli("validate", cwd=root)
    assert (
        result.out.splitlines()[0]
        == "other.yaml:1:1: error E110: the Project document belongs in mlform.yaml"
    )
    (root / "other.yaml").unlink()
    (root / "mlform.yaml").write_text("apiVersion: mlform/v1\nkind: Dataset\nmetadata: {name: p}\n")
    result = run_cli("validate", cwd=root)
    assert "mlform.yaml:1:1: error E110: mlform.yaml needs a Project document" in result.out


def test_durations_read_the_same_in_options_and_specs(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    from mlform.clock import duration_seconds

    assert duration_seconds("1d") == 86400.0  # `cooldown: 1d` and `--lock-timeout 1d` alike
    refused = run_cli("apply", "--auto-approve", "--lock-timeout", "1.5 days", cwd=credit)
    assert refused.code == 2
    assert (
        "Invalid value for '--lock-timeout': '1.5 days' is not a duration like 30s, 15m, 1h or 7d"
        in refused.err
    )
    retrain = credit / "ml" / "retrain.yaml"
    retrain.write_text(retrain.read_text().replace("cooldown: 24h", "cooldown: 1.5d"))
    invalid = run_cli("validate", cwd=credit)
    assert invalid.code == 1 and "spec.cooldown: invalid value '1.5d'" in invalid.out
