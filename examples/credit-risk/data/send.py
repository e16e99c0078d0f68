"""Send rows of a CSV to the local server as production traffic, with their labels.

    python data/send.py /tmp/drifted.csv                  # every row, labels as feedback
    python data/send.py /tmp/drifted.csv --rows 500 --no-labels

Each batch is an Open Inference Protocol request (POST /v2/models/credit-risk/infer); each
row's `default` goes back as ground truth (POST /v2/models/credit-risk/feedback) with the
columns the model is not sent (applicant_id, applied_at, sex), which retraining needs to
append the row to the dataset. A server with a token wants it for feedback: it is read
from MLFORM_SERVER_TOKEN. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

NUMERIC = ("age", "income", "employment_years", "loan_amount", "loan_term_months")
CATEGORICAL = ("housing", "purpose", "credit_history")
EXTRA = ("applicant_id", "applied_at", "sex")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    token = os.environ.get("MLFORM_SERVER_TOKEN", "").strip()
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def send(
    base: str,
    model: str,
    csv_path: Path,
    rows: int | None = None,
    batch: int = 50,
    label: str | None = "default",
    with_columns: bool = True,
) -> int:
    """Send the first ``rows`` rows (all by default) in batches; return how many were sent."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        records = [r for i, r in enumerate(reader) if rows is None or i < rows]
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
        if label is None:
            continue
        feedback = []
        for i, r in enumerate(chunk):
            item: dict[str, Any] = {"request_id": answer["id"], "row": i, "label": int(r[label])}
            if with_columns:
                item["columns"] = {k: r[k] for k in EXTRA}
            feedback.append(item)
        _post(f"{base}/v2/models/{model}/feedback", {"feedback": feedback})
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8085")
    parser.add_argument("--model", default="credit-risk")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--no-labels", action="store_true", help="send no feedback")
    parser.add_argument(
        "--no-columns", action="store_true", help="feedback without applicant_id, applied_at, sex"
    )
    args = parser.parse_args()
    sent = send(
        args.url,
        args.model,
        args.csv,
        args.rows,
        label=None if args.no_labels else "default",
        with_columns=not args.no_columns,
    )
    print(f"Sent {sent} row(s) to {args.url}{'' if args.no_labels else ', with their labels'}.")


if __name__ == "__main__":
    main()
