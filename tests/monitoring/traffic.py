"""Send rows of a CSV to a local server as Open Inference Protocol requests, with labels
through the feedback path: what production traffic looks like to a Monitor."""

from __future__ import annotations

import csv
import json
import urllib.request
from pathlib import Path
from typing import Any

NUMERIC = ("age", "income", "employment_years", "loan_amount", "loan_term_months")
CATEGORICAL = ("housing", "purpose", "credit_history")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def send(
    base: str,
    model: str,
    csv_path: Path,
    rows: int,
    batch: int = 50,
    label: str | None = "default",
    with_columns: bool = True,
) -> int:
    """Send the first ``rows`` rows in batches; give each row's label as feedback, with the
    columns the model is not sent (id, date, sex) unless ``with_columns`` is False."""
    with csv_path.open(newline="") as handle:
        records = [r for _, r in zip(range(rows), csv.DictReader(handle), strict=False)]
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        inputs = [
            {
                "name": c,
                "datatype": "FP64",
                "shape": [len(chunk)],
                "data": [float(r[c]) if r[c] != "" else None for r in chunk],
            }
            for c in NUMERIC
        ] + [
            {"name": c, "datatype": "BYTES", "shape": [len(chunk)], "data": [r[c] for r in chunk]}
            for c in CATEGORICAL
        ]
        answer = _post(f"{base}/v2/models/{model}/infer", {"inputs": inputs})
        if label is not None:
            feedback = [
                {
                    "request_id": answer["id"],
                    "row": i,
                    "label": int(r[label]),
                    **(
                        {"columns": {k: r[k] for k in ("applicant_id", "applied_at", "sex")}}
                        if with_columns
                        else {}
                    ),
                }
                for i, r in enumerate(chunk)
            ]
            _post(f"{base}/v2/models/{model}/feedback", {"feedback": feedback})
    return len(records)
