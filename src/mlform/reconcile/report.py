"""Plans for people: Terraform-style text (colored on a terminal) and Markdown for a pull
request comment, cut with a note before GitHub's 65,535-character limit.

Reasons, field paths and errors carry text from specs (keys, values, a failed command's
output), and a plan is read on terminals and in pull request comments: every control
character is shown escaped, so nothing can start a line of its own (a fake "No changes", a
fence closing the diff) or send a terminal escape; Markdown cells escape Markdown too."""

from __future__ import annotations

import json
import re
from typing import Any

from mlform.printable import one_line
from mlform.reconcile.changes import Change, Plan
from mlform.reconcile.selection import WARNING

MARKDOWN_LIMIT = 65_000
VERBS = {
    "create": "will be created",
    "update": "will be updated in place",
    "delete": "will be destroyed",
    "replace": "must be replaced",
}


_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~])")  # code, emphasis, links, HTML, cells
line = one_line


def _verb(change: Change) -> str:
    if change.actions == ["delete", "create"]:
        return VERBS["replace"]
    return VERBS[change.actions[0]]


def _value(value: Any) -> str:
    if value is None:
        return "null"
    return one_line(
        json.dumps(value, ensure_ascii=False)
        if not isinstance(value, int | float) or isinstance(value, bool)
        else str(value)
    )


def summary(plan: Plan) -> str:
    add, change, destroy = plan.counts()
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


def change_lines(change: Change, style: Any = None) -> list[str]:
    color = {"+": "green", "~": "yellow", "-": "red", "-/+": "red"}.get(change.symbol)

    def paint(text_: str) -> str:
        return style(text_, fg=color) if style and color else text_

    body: list[str] = []
    if change.actions == ["create"] and change.after:
        flat = sorted(_flat(change.after.get("spec", {})).items())
        body += [f"      + {line(key)}: {_value(value)}" for key, value in flat[:20]]
        if len(flat) > 20:
            body.append(f"        … and {len(flat) - 20} more")
    for f in change.fields:
        if f.before is None:
            body.append(f"      + {line(f.path)}: {_value(f.after)}")
        elif f.after is None:
            body.append(f"      - {line(f.path)}: {_value(f.before)}")
        else:
            body.append(f"      ~ {line(f.path)}: {_value(f.before)} → {_value(f.after)}")
    if change.type == "deployment" and change.reason.startswith("upstream changed"):
        body.append("      ~ version: (known after apply)")
    header = f'  {change.symbol} {change.type} "{change.name}"'
    lines = [f"  # {change.address} {_verb(change)} ({line(change.reason)})"]
    if not body:
        return [*lines, paint(header)]
    return [*lines, paint(header + " {"), *(paint(line) for line in body), "    }"]


def _flat(data: Any, prefix: str = "spec") -> dict[str, Any]:
    from mlform.reconcile.plan import flatten

    return flatten(data, prefix)


def text(plan: Plan, style: Any = None) -> str:
    out: list[str] = []
    if plan.drift:
        out.append("Changes outside of mlform since the last apply:\n")
        out += [
            f"  # {d.address}: {line(d.reason.removeprefix('changed outside of mlform: '))}"
            for d in plan.drift
        ]
        out.append("")
    changes = [c for c in plan.changes if c.is_change]
    if not changes:
        nothing = "No changes. Your specs and the world match the recorded state."
        if plan.targeting is not None:
            nothing = (
                "No changes in the selection. Its specs and the world match the recorded state."
            )
        out.append(nothing)
        return "\n".join(out + warning(plan, style))
    out.append("mlform will perform the following actions:\n")
    for change in changes:
        out += change_lines(change, style)
        out.append("")
    for error in plan.errors:
        out.append(f"Error: {line(error)}")
    out.append(summary(plan))
    return "\n".join(out + warning(plan, style))


def warning(plan: Plan, style: Any = None) -> list[str]:
    """Terraform's warning for a targeted plan: which part, and what it leaves out."""
    if plan.targeting is None:
        return []
    head = f"Warning: {WARNING}"
    detail = [f"  {line(part)}" for part in plan.targeting.detail().split("\n")]
    return ["", style(head, fg="yellow", bold=True) if style else head, "", *detail]


def _cell(text_: str) -> str:
    """Text in a Markdown table cell or quote: one line, Markdown's punctuation escaped."""
    return _MARKDOWN.sub(r"\\\1", line(text_))


def markdown(plan: Plan) -> str:
    changes = [c for c in plan.changes if c.is_change]
    head = [f"### mlform plan — `{plan.environment}`", "", f"**{summary(plan)}**", ""]
    if plan.errors:
        head += [f"> :x: {_cell(e)}" for e in plan.errors] + [""]
    if plan.targeting is not None:
        detail = " ".join(_cell(part) for part in plan.targeting.detail().split("\n"))
        head += [f"> :warning: **{WARNING}.** {detail}", ""]
    if not changes:
        return "\n".join([*head, "No changes."])
    body = ["| | resource | action | why |", "| --- | --- | --- | --- |"]
    body += [f"| `{c.symbol}` | `{c.address}` | {_verb(c)} | {_cell(c.reason)} |" for c in changes]
    details = ["", "<details><summary>Details</summary>", "", "```diff"]
    for change in changes:
        details += [line.replace("  # ", "# ", 1) for line in change_lines(change)]
    details += ["```", "</details>"]
    text_ = "\n".join([*head, *body, *details])
    if len(text_) > MARKDOWN_LIMIT:
        cut = text_[: MARKDOWN_LIMIT - 200].rsplit("\n", 1)[0]
        note = f"\n\n> The plan was cut at {MARKDOWN_LIMIT:,} characters to fit a comment; run `mlform plan` for all of it."
        text_ = (
            cut
            + ("\n```\n</details>" if "```diff" in cut and not cut.endswith("```") else "")
            + note
        )
    return text_
