"""A Dataset column's regex comes from a pull request and runs on every row: it is matched
in linear time (RE2), so a catastrophic pattern cannot hang the pipeline."""

from __future__ import annotations

import threading

import pandas as pd

from mlform import stage_params as P
from mlform.runtime.datachecks import CheckResult, _column_checks
from mlform.runtime.frames import TypedFrame

ADVERSARIAL = "a" * 50_000 + "b"  # Python's re needs 2^50000 steps for ^(a+)+$


def test_a_catastrophic_pattern_on_a_long_row_finishes() -> None:
    raw = pd.DataFrame({"code": ["aaa", ADVERSARIAL, "ab"]})
    data = TypedFrame(raw.copy(), {"code": pd.Series([False] * 3)}, raw)
    spec = P.Column(dtype="string", regex="^(a+)+$")
    results: list[CheckResult] = []
    worker = threading.Thread(
        target=lambda: results.extend(_column_checks(data, "code", spec, ("columns", "code"))),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=30)  # a bound on a hang, not a timing: RE2 takes milliseconds
    assert not worker.is_alive(), "the regex check did not finish"
    regex = next(r for r in results if r.check == "column 'code' matches /^(a+)+$/")
    assert (regex.passed, regex.failed) == (False, 2)
    assert regex.message == "2 values not matching /^(a+)+$/ (rows 3, 4)"
