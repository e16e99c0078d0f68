"""A plan is read on terminals and posted as a pull request comment: text from specs (keys,
values, a failed command's output) cannot start a line of its own, close the diff's fence,
send a terminal escape, or add Markdown to the comment."""

from __future__ import annotations

from mlform.reconcile import report
from mlform.reconcile.changes import Change, Field, Plan

EVIL_KEY = "x\n```\n**No changes.** ![p](https://evil.example/pixel.png)\x1b[2J"


def plan() -> Plan:
    change = Change(
        "deployment.web",
        "deployment",
        "web",
        ["update"],
        f"spec changed: spec.env.{EVIL_KEY}",
        fields=[Field(f"spec.env.{EVIL_KEY}", "a", "b")],
    )
    failed = Change(
        "model.m", "model", "m", ["update"], "the last apply failed: boom\n<script>x</script>"
    )
    return Plan("default", 3, "lineage", None, [change, failed], [], [])


def test_the_text_plan_keeps_each_reason_and_path_on_its_line() -> None:
    text = report.text(plan())
    assert "\x1b" not in text
    assert not any(line.startswith(("```", "**No changes")) for line in text.splitlines())
    assert (
        "spec.env.x\\n```\\n**No changes.** ![p](https://evil.example/pixel.png)\\u001b[2J" in text
    )


def test_the_markdown_comment_cannot_close_the_fence_or_add_markdown() -> None:
    md = report.markdown(plan())
    lines = md.splitlines()
    fences = [i for i, line in enumerate(lines) if line.startswith("```")]
    assert [lines[i] for i in fences] == ["```diff", "```"]  # only ours
    table = [line for line in lines if line.startswith("| `~` | `model.m`")]
    assert table == [
        "| `~` | `model.m` | will be updated in place | "
        "the last apply failed: boom\\\\n\\<script\\>x\\</script\\> |"
    ]
    web = next(line for line in lines if line.startswith("| `~` | `deployment.web`"))
    assert "\\[p\\]" in web and "\\*\\*No changes.\\*\\*" in web
