"""Spec text printed by validate (which runs on unreviewed pull requests), by errors and in
plans cannot forge a line of its own (a fake "Success!", a GitHub Actions `::error`
command) or reach the terminal as an escape (OSC 52 writes the clipboard) or a bidi override."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mlform.printable import lines, one_line
from mlform.reconcile import report
from mlform.reconcile.changes import Change, Field, Plan
from tests.conftest import Run, copy_example
from tests.pipeline_helpers import edit

FORGED = (
    "roc_auc\\nSuccess! 9 documents in 8 files are valid.\\n"
    "::error file=mlform.yaml,line=1::forged\\n\\e]52;c;ZWNobyBwd25lZA==\\a\\u0085\\u202e"
)


def test_validate_prints_a_forged_value_on_its_diagnostic_line(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    root = copy_example("credit-risk", tmp_path / "p")
    edit(root / "ml" / "monitor.yaml", "metric: roc_auc", f'metric: "{FORGED}"')
    done = run_cli("validate", cwd=root)
    assert done.code == 1
    out = done.out.splitlines()
    assert [line for line in out if "E103" in line] == [out[0]]
    assert not any(line.startswith(("Success!", "::")) for line in out), out
    assert "\x1b" not in done.out and "\x85" not in done.out and "\u202e" not in done.out
    assert "\\nSuccess! 9 documents" in out[0] and "\\u001b]52;c;" in out[0]


def test_escapes_keep_what_is_safe() -> None:
    assert one_line("mean radius\té") == "mean radius\\té"
    assert lines("a\r\nC:\\temp\x1b[2J\n\tb") == "a\nC:\\temp\\u001b[2J\n\tb"
    assert one_line("ab\u200bc\u2028d\ufeff\x7f") == "ab\\u200bc\\u2028d\\ufeff\\u007f"


def test_plan_values_and_keys_cannot_be_spoofed() -> None:
    spoof = "good\u202e\u2066evil\x85\x9b31m"
    change = Change(
        "dataset.d", "dataset", "d", ["update"], "spec changed",
        fields=[Field(f"spec.columns.{spoof}", spoof, "b")],
    )  # fmt: skip
    plan = Plan("default", 1, "l", None, [change], [], [])
    for text in (report.text(plan), report.markdown(plan)):
        assert not any(c in text for c in "\u202e\u2066\x85\x9b"), repr(text)
        assert "good\\u202e\\u2066evil\\u0085\\u009b31m" in text
