"""Feedback against a real server on 127.0.0.1: labels must be the model's classes, columns
may not rewrite the logged inputs, a request holds at most max_batch records, and a flood
of feedback is refused once the log is full instead of rotating real labels away."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlform.serving import daemon
from mlform.serving.config import Limits, PredictionLog
from mlform.serving.errors import RequestError
from mlform.serving.feedback import Signature, parse_feedback
from tests.serving.conftest import Live, Trained, config_for, free_port

FEEDBACK = "/v2/models/credit-risk/feedback"


def logged(folder: Path, want: int) -> list[dict[str, Any]]:
    """Every record of feedback.jsonl and its backups, once the writer has written ``want``."""
    deadline = time.monotonic() + 30
    while True:
        files = sorted(folder.glob("feedback.jsonl*"), reverse=True)  # oldest first
        records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
        if len(records) >= want or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_a_label_that_is_not_a_class_is_refused(live: Live) -> None:
    assert live.call("POST", FEEDBACK, {"request_id": "r-yes", "label": "yes"}) == (
        400,
        {
            "error": "feedback[0]: label 'yes' is not one of the classes of model 'credit-risk': 0, 1"
        },
    )
    assert live.call(
        "POST",
        FEEDBACK,
        {"feedback": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": 2}]},
    ) == (
        400,
        {"error": "feedback[1]: label 2 is not one of the classes of model 'credit-risk': 0, 1"},
    )
    before = len(logged(Path(live.config.prediction_log.folder), 0))
    assert live.call("POST", FEEDBACK, {"request_id": "r-one", "label": "1"}) == (
        200,
        {"recorded": 1},
    )
    last = logged(Path(live.config.prediction_log.folder), before + 1)[-1]
    assert (last["request_id"], last["label"]) == ("r-one", 1)  # as the model spells it


def test_columns_may_not_give_the_models_inputs(live: Live) -> None:
    item = {"request_id": "r-cols", "label": 0, "columns": {"applicant_id": "A-1", "age": 99}}
    assert live.call("POST", FEEDBACK, item) == (
        400,
        {
            "error": "feedback[0]: 'columns' names 'age', an input of model 'credit-risk': "
            "retraining takes the inputs logged with the prediction, and 'columns' may only "
            "add others"
        },
    )
    item["columns"] = {"applicant_id": "A-1", "sex": "f"}
    assert live.call("POST", FEEDBACK, item) == (200, {"recorded": 1})


def test_a_request_holds_at_most_max_batch_records(live: Live) -> None:
    items = [{"request_id": f"r-{i}", "label": 0} for i in range(10_001)]
    assert live.call("POST", FEEDBACK, {"feedback": items}) == (
        400,
        {"error": "10,001 feedback records is over this server's limit of 10,000 a request"},
    )


def test_regression_labels_are_numbers() -> None:
    signature = Signature("price", frozenset({"rooms"}), "regression", ())
    assert parse_feedback({"request_id": "r", "label": 3.5}, signature, 10)[0]["label"] == 3.5
    with pytest.raises(RequestError) as refused:
        parse_feedback({"request_id": "r", "label": "high"}, signature, 10)
    assert refused.value.message == (
        "feedback[0]: label 'high' is not a finite number, as model 'price' (regression) predicts"
    )


def test_a_feedback_flood_is_refused_before_real_labels_are_rotated_away(
    trained: Trained, tmp_path: Path
) -> None:
    log = PredictionLog(folder=str(tmp_path / "logs"), max_bytes=20_000, backups=2)
    config = config_for(trained, tmp_path, free_port(), log=log, limits=Limits())
    live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    folder = Path(log.folder)
    try:
        assert live.call("POST", FEEDBACK, {"request_id": "real-1", "label": 1})[0] == 200
        flood = {"feedback": [{"request_id": f"flood-{i}", "label": 0} for i in range(100)]}
        accepted, answer = 1, (200, None)
        for _ in range(100):  # 60,000 bytes hold about 6 of these
            answer = live.call("POST", FEEDBACK, flood)
            if answer[0] != 200:
                break
            accepted += 100
        status, body = answer
        assert status == 507
        assert body["error"].startswith("the feedback log is full (")
        assert body["error"].endswith(
            "of 60,000 bytes in feedback.jsonl and its 2 backups), and labels are never "
            "rotated away: once retraining has taken them, stop the server and remove old "
            "ones with `mlform feedback drop credit-risk --before TIME`"
        )
        records = logged(folder, accepted)
        assert len(records) == accepted  # none rotated away, none lost
        assert records[0]["request_id"] == "real-1"
        assert {p.name for p in folder.glob("feedback.jsonl*")} <= {
            "feedback.jsonl",
            "feedback.jsonl.1",
            "feedback.jsonl.2",
        }
        assert sum(p.stat().st_size for p in folder.glob("feedback.jsonl*")) <= 60_000
    finally:
        daemon.stop(tmp_path)
    # A restarted server counts what is on disk: still full.
    live = Live(daemon.apply(tmp_path, config).url, tmp_path, config)
    try:
        assert live.call("POST", FEEDBACK, flood)[0] == 507
    finally:
        daemon.stop(tmp_path)
