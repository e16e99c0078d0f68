"""What a plan is made of, as data: each resource's change (actions, reason, fields) and the
plan with its prior state, drift and errors; saved as JSON (``mlform plan --out``) and read
back. ``plan.py`` computes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlform.diagnostics import Diagnostic, Severity
from mlform.reconcile.selection import WARNING, Targeting

FORMAT_VERSION = "1.2"

# Changing these fields of a Deployment replaces it (stop the old server, start anew).
REPLACE_FIELDS = {"deployment": ("target", "local.host", "local.port")}


@dataclass
class Field:
    path: str
    before: Any
    after: Any


@dataclass
class Change:
    address: str
    type: str
    name: str
    actions: list[str]
    reason: str
    action_reason: str = ""  # Terraform-style machine-readable reason
    fields: list[Field] = field(default_factory=list)
    metadata_only: bool = False
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    depends_on: list[str] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return (
            {"create": "+", "update": "~", "delete": "-", "no-op": " "}.get(self.actions[0], "?")
            if len(self.actions) == 1
            else "-/+"
        )

    @property
    def is_change(self) -> bool:
        return self.actions != ["no-op"]

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "mode": "managed",
            "type": self.type,
            "name": self.name,
            "action_reason": self.action_reason or None,
            "reason": self.reason,
            "metadata_only": self.metadata_only,
            "change": {
                "actions": self.actions,
                "before": self.before,
                "after": self.after,
                "fields": [asdict(f) for f in self.fields],
            },
        }


@dataclass
class Observed:
    """What is actually there, by address: a problem description, or nothing."""

    drift: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Plan:
    environment: str
    serial: int
    lineage: str
    revision: str | None
    changes: list[Change]
    drift: list[Change]
    problems: list[Diagnostic]  # why the plan cannot be applied
    state_exists: bool = True
    specs: str | None = None  # digest of the desired resources, so a saved plan can be checked
    targeting: Targeting | None = None  # --target/--exclude/--selector: a part of the graph

    @property
    def errors(self) -> list[str]:
        return [d.summary for d in self.problems if d.severity is Severity.ERROR]

    @property
    def has_changes(self) -> bool:
        return any(c.is_change for c in self.changes)

    def counts(self) -> tuple[int, int, int]:
        add = sum(1 for c in self.changes if "create" in c.actions)
        change = sum(1 for c in self.changes if c.actions == ["update"])
        destroy = sum(1 for c in self.changes if "delete" in c.actions)
        return add, change, destroy

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "mlform_environment": self.environment,
            "applyable": not self.errors,
            "complete": self.targeting is None or self.targeting.complete,
            "errored": bool(self.errors),
            "prior_state": {"serial": self.serial, "lineage": self.lineage},
            "revision": self.revision,
            "specs": self.specs,
            **(
                {
                    "targeting": self.targeting.to_json(),
                    "warnings": [
                        {
                            "severity": "warning",
                            "summary": WARNING,
                            "detail": self.targeting.detail(),
                        }
                    ],
                }
                if self.targeting is not None
                else {}
            ),
            "resource_changes": [c.to_json() for c in self.changes],
            "resource_drift": [c.to_json() for c in self.drift],
            "checks": [
                {
                    "address": {"kind": "prevent_destroy", "resource": d.document},
                    "status": "fail",
                    "problems": [{"message": d.summary, "diagnostic": d.to_json()}],
                }
                for d in self.problems
            ]
            or [{"address": {"kind": "prevent_destroy"}, "status": "pass", "problems": []}],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        def change(item: dict[str, Any]) -> Change:
            body = item["change"]
            return Change(
                item["address"],
                item["type"],
                item["name"],
                body["actions"],
                item.get("reason", ""),
                item.get("action_reason") or "",
                [Field(**f) for f in body.get("fields", [])],
                item.get("metadata_only", False),
                body.get("before"),
                body.get("after"),
            )

        errors = [
            cannot_apply(c.get("address", {}).get("resource", ""), p["message"])
            for c in data.get("checks", [])
            if c["status"] == "fail"
            for p in c["problems"]
        ]
        prior = data["prior_state"]
        return cls(
            data.get("mlform_environment", "default"),
            prior["serial"],
            prior["lineage"],
            data.get("revision"),
            [change(c) for c in data["resource_changes"]],
            [change(c) for c in data.get("resource_drift", [])],
            errors,
            specs=data.get("specs"),
            targeting=Targeting.from_json(data["targeting"]) if data.get("targeting") else None,
        )


def cannot_apply(address: str, message: str, environment: str = "") -> Diagnostic:
    """A reason the plan cannot be applied (E501), placed at the state that records it."""
    where = f".mlform/state/{environment}.json" if environment else "(saved plan)"
    return Diagnostic(Severity.ERROR, where, 0, 0, "E501", message, address)
