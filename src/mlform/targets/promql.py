"""PromQL and Go-template text for rendered rules, and the alerts they are built from: every
spec value reaches them through ``promql_string`` (PromQL) or ``go_text`` (templates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VALUE = '{{ $value | printf "%.3f" }}'


def go_text(value: str) -> str:
    """``value`` as Go template text that expands to exactly ``value``.

    Prometheus expands the labels and annotations of alerting rules as Go templates, so a
    spec's ``{{ query "…" }}`` would run PromQL on every evaluation and mail the result to the
    receivers. Each ``{{`` becomes an action printing ``{{``; the rest is literal text."""
    return '{{ "{{" }}'.join(value.split("{{"))


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal (label matcher value)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@dataclass(frozen=True)
class Alert:
    name: str
    objective: str
    expr: str
    summary: str
    description: str
    firing: list[dict[str, Any]]  # input series that fire it
    quiet: list[dict[str, Any]]  # input series that do not
    value: str  # the value the firing test renders in the description
    extra_labels: dict[str, str]
    # more input series that must not fire it (each its own unit test)
    also_quiet: list[list[dict[str, Any]]] = field(default_factory=list)


def series(metric: str, labels: dict[str, str], values: str) -> dict[str, Any]:
    inner = ",".join(f"{k}={promql_string(v)}" for k, v in labels.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}
