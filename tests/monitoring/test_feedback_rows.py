"""Feedback as retraining reads it: the inputs logged with a prediction win over the
feedback's `columns`, which only add what the model was not sent (a log may predate the
server's refusal of such columns)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.monitoring.conftest import LogWriter, Scored, generate


def test_logged_inputs_win_over_feedback_columns(
    scored: Scored, write_log: LogWriter, tmp_path: Path
) -> None:
    import mlform
    from mlform.retraining.feedback import labelled_rows
    from mlform.spec import RetrainPolicy

    frame = generate(tmp_path, 1, seed=7)
    [request] = write_log(frame, labels=None)
    logged = json.loads((scored.logs / "predictions.jsonl").read_text().splitlines()[0])
    forged = {
        "timestamp": "2026-01-01T00:00:00.000Z",
        "model": "credit-risk",
        "request_id": request,
        "row": 0,
        "label": 1,
        "columns": {"age": 999.0, "income": -1.0, "applicant_id": "A-1", "default": 0},
    }
    (scored.logs / "feedback.jsonl").write_text(json.dumps(forged) + "\n")
    graph = mlform.load(scored.root)
    [policy] = graph.all(RetrainPolicy)
    rows, keys = labelled_rows(graph, policy)
    assert keys == [f"credit-risk-local/{request}/0"]
    assert rows == [{**logged["inputs"], "applicant_id": "A-1", "default": 1}]
