"""Generate data/credit.csv: synthetic loan applications, deterministic for a given seed.

    python data/generate.py            # writes data/credit.csv (5,000 rows)
    python data/generate.py --rows 20000 --seed 7 --shift 0.5 --out /tmp/drifted.csv

`--shift` moves ages, incomes, loan amounts and the mix of loan purposes (data drift) for
monitoring demos; `--shift 0` (the default) is the original population. `--concept` changes
how defaults follow from the applications (concept drift: renters and older applicants
default more often), which only retraining on new labels can follow; 0, the default, is
the original relationship.
The committed file ends with 12 dirty rows the Dataset's cleaning rules remove (duplicates,
missing targets, values outside the schema, test applications); a file written with `--out`
carries them only with `--dirty`, so the traffic drawn from it is clean.
Only numpy is needed; the output is byte-identical for the same arguments.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

PURPOSES = ["car", "education", "home", "business", "personal"]
HOUSING = ["own", "rent", "free"]
HISTORY = ["good", "fair", "poor"]


def generate(rows: int, seed: int, shift: float, concept: float = 0.0) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.integers(18, 76, rows) + round(shift * 8), 18, 100)
    sex = rng.choice(["female", "male"], rows, p=[0.48, 0.52])
    income = np.round(rng.lognormal(10.4 + 0.004 * (age - 18) + shift * 0.4, 0.45, rows), 2)
    employment = np.round(np.clip(rng.normal((age - 18) * 0.35, 3.0), 0, None), 1)
    employment_missing = rng.random(rows) < 0.03
    mix = min(max(shift, 0.0), 1.0) * 0.6
    purpose = rng.choice(
        PURPOSES,
        rows,
        p=(1 - mix) * np.array([0.3, 0.15, 0.2, 0.1, 0.25])
        + mix * np.array([0.1, 0.3, 0.1, 0.4, 0.1]),
    )
    housing = rng.choice(HOUSING, rows, p=[0.45, 0.45, 0.10])
    history = rng.choice(HISTORY, rows, p=[0.6, 0.28, 0.12])
    term = rng.choice([12, 24, 36, 48, 60], rows)
    loan = np.round(rng.gamma(2.0, 4000.0 * (1 + shift), rows) + 500, 2)
    ratio = loan / income
    logit = (
        -2.0
        + 4.5 * ratio
        - 0.025 * (age - 40)
        - 0.04 * employment
        + np.select([history == "fair", history == "poor"], [0.8, 1.9], 0.0)
        + np.select([housing == "rent", housing == "free"], [0.35, 0.2], 0.0)
        + np.select([purpose == "business", purpose == "education"], [0.5, 0.3], 0.0)
        + 0.012 * (term - 36)
    )
    if concept:
        logit = logit + concept * (1.2 * (housing == "rent") + 0.05 * (age - 40))
    default = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    start = datetime(2024, 1, 1)
    applied = [
        start + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 60 * 24 * 540, rows))
    ]
    out = []
    for i in range(rows):
        out.append(
            {
                "applicant_id": f"A{seed:02d}{i:06d}",
                "applied_at": applied[i].strftime("%Y-%m-%dT%H:%M:%S"),
                "age": int(age[i]),
                "sex": sex[i],
                "income": f"{income[i]:.2f}",
                "employment_years": "" if employment_missing[i] else f"{employment[i]:.1f}",
                "housing": housing[i],
                "purpose": purpose[i],
                "credit_history": history[i],
                "loan_amount": f"{loan[i]:.2f}",
                "loan_term_months": int(term[i]),
                "default": int(default[i]),
            }
        )
    return out


def dirty(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows a cleaning step should remove, each for one reason, after the clean ones."""
    prefix = str(rows[0]["applicant_id"])[:3]
    ids = (f"{prefix}{len(rows) + i:06d}" for i in range(100))

    def like(i: int, **changes: object) -> dict[str, object]:
        return {**rows[i], "applicant_id": next(ids), **changes}

    return [
        dict(rows[17]),  # the same application sent twice
        dict(rows[1234]),
        dict(rows[4321]),
        {
            **rows[2500],
            "employment_years": "75.0",
        },  # a resent copy with a typo: clipped, then dropped
        like(40, default=""),  # not labelled yet
        like(41, default=""),
        like(42, age=150),  # outside the schema
        like(43, income="-5.00"),
        like(44, housing="castle"),
        like(45, applicant_id="B42000045"),
        like(46, applied_at="2023-12-31T09:00:00"),  # test applications before the launch
        like(47, applied_at="2023-12-31T17:30:00"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shift", type=float, default=0.0)
    parser.add_argument("--concept", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--dirty", action="store_true", help="end with dirty rows (the default without --out)"
    )
    args = parser.parse_args()
    rows = generate(args.rows, args.seed, args.shift, args.concept)
    if args.dirty or args.out is None:
        rows += dirty(rows)
    args.out = args.out or Path(__file__).with_name("credit.csv")
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
