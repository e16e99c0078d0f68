"""`mlform monitor run` warns, located, when its window is longer than the log keeps: the
oldest record left is newer than the window's start and the log has rotated records away."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlform.serving.config import PredictionLog, ServeConfig
from tests.conftest import Run
from tests.monitoring.conftest import MONITOR, LogWriter, Scored, generate


def served_with(scored: Scored, backups: int) -> None:
    """The server config apply would have written, with ``backups`` rotated files."""
    folder = scored.logs.parent
    folder.mkdir(parents=True, exist_ok=True)
    config = ServeConfig(
        "credit-risk-local", prediction_log=PredictionLog(str(scored.logs), backups=backups)
    )
    (folder / "config.json").write_text(config.to_json())


@pytest.fixture(autouse=True)
def _no_config_left(scored: Scored) -> Iterator[None]:
    yield
    (scored.logs.parent / "config.json").unlink(missing_ok=True)


def rotated_log(scored: Scored, write_log: LogWriter, tmp_path: Path, oldest_age: float) -> None:
    """Three backups and the current file, the oldest written ``oldest_age`` seconds ago."""
    frame = generate(tmp_path, 400, seed=7)
    for i, name in enumerate(("predictions.jsonl.3", "predictions.jsonl.2", "predictions.jsonl.1")):
        write_log(
            frame.iloc[i * 100 : (i + 1) * 100],
            age_seconds=oldest_age - i * 60,
            file=name,
            labels=None,
        )
    write_log(frame.iloc[300:], file="predictions.jsonl", labels=None)


def monitor(run_cli: Callable[..., Run], scored: Scored) -> Run:
    return run_cli("monitor", "run", MONITOR, cwd=scored.root)


def test_a_window_longer_than_the_log_is_warned_about(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    served_with(scored, backups=3)
    rotated_log(scored, write_log, tmp_path, oldest_age=1800)  # the window is 1h
    done = monitor(run_cli, scored)
    assert done.code == 0, done.out + done.err
    result = json.loads((scored.out / "result.json").read_text())
    since = result["window"]["since"]
    oldest = json.loads((scored.logs / "predictions.jsonl.3").read_text().splitlines()[0])[
        "timestamp"
    ]
    warning = (
        ".mlform/serve/credit-risk-local/logs/predictions.jsonl.3:1: warning: the window of 1h "
        f"starts at {since}, but the oldest prediction the log keeps is from {oldest}: its 3 "
        "rotated files are all taken, so older records were rotated away and the window holds "
        "less than 1h of traffic. Raise the Deployment's spec.prediction_log.design_rate (rows "
        "per second the log is sized for) or lower its sample, then `mlform apply`"
    )
    assert done.err == warning + "\n"
    assert result["warnings"] == [warning]
    assert result["window"]["rows"] == 400


def test_a_log_younger_than_the_window_or_covering_it_is_not_warned_about(
    scored: Scored, write_log: LogWriter, run_cli: Callable[..., Run], tmp_path: Path
) -> None:
    served_with(scored, backups=4)  # a backup name still free: nothing was rotated away
    rotated_log(scored, write_log, tmp_path, oldest_age=1800)
    done = monitor(run_cli, scored)
    assert (done.code, done.err) == (0, "")
    served_with(scored, backups=3)  # every name taken, but the oldest is before the window
    rotated_log(scored, write_log, tmp_path, oldest_age=4000)
    done = monitor(run_cli, scored)
    assert (done.code, done.err) == (0, "")
    assert json.loads((scored.out / "result.json").read_text())["warnings"] == []
