"""plan = f(desired resources, recorded state, observed world): pure, returns data.

Actions follow Terraform: ``no-op``, ``create``, ``update``, ``delete``, and ``delete`` +
``create`` for a replacement. Every action carries a reason a person can read, and changes
to metadata alone (labels, description, owner) are told apart: they are recorded, nothing
retrains or redeploys.
"""

from __future__ import annotations

import graphlib
from typing import Any

from mlform.diagnostics import Diagnostic
from mlform.reconcile.changes import REPLACE_FIELDS, Change, Field, Observed, Plan, cannot_apply
from mlform.reconcile.resources import ORDER, PIPELINE, Resource


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def field_changes(before: dict[str, Any], after: dict[str, Any], prefix: str) -> list[Field]:
    old, new = flatten(before, prefix), flatten(after, prefix)
    return [
        Field(k, old.get(k), new.get(k))
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]


def _order(resources: dict[str, dict[str, Any]]) -> list[str]:
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for address, item in resources.items():
        sorter.add(address, *[d for d in item["depends_on"] if d in resources])
    order = {address: i for i, address in enumerate(sorter.static_order())}
    rank = {t: i for i, t in enumerate(ORDER)}
    # Stable, readable order: by type, then dependency order, then name.
    return sorted(order, key=lambda a: (rank[resources[a]["type"]], order[a]))


def plan(
    desired: dict[str, Resource],
    state: Any,
    observed: Observed,
    environment: str,
    revision: str | None,
) -> Plan:
    recorded: dict[str, dict[str, Any]] = state.resources
    everything = {a: {"type": r.type, "depends_on": list(r.depends_on)} for a, r in desired.items()}
    for address, item in recorded.items():
        everything.setdefault(
            address,
            {
                "type": item["type"],
                "depends_on": [
                    d for d in item.get("depends_on", []) if d in desired or d in recorded
                ],
            },
        )
    changes: dict[str, Change] = {}
    drift: list[Change] = []
    errors: list[Diagnostic] = []
    for address in _order(everything):
        resource, before = desired.get(address), recorded.get(address)
        if resource is None:
            assert before is not None
            change = Change(
                address,
                before["type"],
                before["name"],
                ["delete"],
                "no longer declared",
                "delete_because_no_resource_config",
                before=before.get("spec"),
                depends_on=before.get("depends_on", []),
            )
            if before.get("prevent_destroy"):
                errors.append(
                    cannot_apply(
                        address,
                        f"{address} has prevent_destroy set and would be destroyed "
                        f"({change.reason}); remove the protection from its spec or environment first",
                        environment,
                    )
                )
            changes[address] = change
            continue
        after = {"spec": resource.spec, "meta": resource.meta}
        base = Change(
            address,
            resource.type,
            resource.name,
            ["no-op"],
            "",
            before=None
            if before is None
            else {"spec": before.get("spec"), "meta": before.get("meta")},
            after=after,
            depends_on=list(resource.depends_on),
        )
        if before is None:
            base.actions, base.reason, base.action_reason = ["create"], "not yet applied", "create"
            changes[address] = base
            continue
        # equal digests: nothing to compare field by field (most resources of a big plan)
        base.fields = (
            []
            if before.get("spec_hash") == resource.spec_hash
            else field_changes(before.get("spec", {}), resource.spec, "spec")
        )
        meta_fields = (
            []
            if before.get("meta_hash") == resource.meta_hash
            else field_changes(before.get("meta", {}), resource.meta, "metadata")
        )
        upstream = [
            d
            for d in resource.depends_on
            if d in changes
            and changes[d].is_change
            and not changes[d].metadata_only
            and _propagates(changes[d], resource)
        ]
        if resource.type == "deployment":  # the model it serves moved on without it
            upstream += [f"{d} is at {v}" for d, v in _moved(before, recorded) if d not in upstream]
        if resource.type in PIPELINE:  # applied from other upstream specs (a killed apply)
            upstream += [d for d in _respecified(before, recorded) if d not in upstream]
        problem = observed.drift.get(address)
        _classify(base, resource, before, upstream, problem, meta_fields)
        base.fields += meta_fields
        if problem:
            drift.append(
                Change(
                    address,
                    resource.type,
                    resource.name,
                    ["update"],
                    f"changed outside of mlform: {problem}",
                    "update_because_changed_outside",
                )
            )
        changes[address] = base
    return Plan(
        environment,
        state.serial,
        state.lineage,
        revision,
        list(changes.values()),
        drift,
        errors,
        state.exists,
    )


def _classify(
    base: Change,
    resource: Resource,
    before: dict[str, Any],
    upstream: list[str],
    problem: str | None,
    meta_fields: list[Field],
) -> None:
    """The action and reason for a resource that is in the state, by precedence: its spec
    changed (a replacement when a REPLACE_FIELDS field did), its last apply failed,
    something upstream changed, it changed outside mlform, only its metadata changed."""
    if base.fields:
        replaced = [
            f.path
            for f in base.fields
            if f.path.removeprefix("spec.") in REPLACE_FIELDS.get(resource.type, ())
        ]
        if replaced:
            base.actions, base.action_reason = ["delete", "create"], "replace_because_cannot_update"
            base.reason = f"{', '.join(replaced)} changed, which needs a replacement"
        else:
            base.actions, base.action_reason = ["update"], "update_because_spec_changed"
            base.reason = (
                "spec changed: "
                + "; ".join(_short(f) for f in base.fields[:3])
                + (f"; and {len(base.fields) - 3} more" if len(base.fields) > 3 else "")
            )
    elif before.get("status") == "failed":
        base.actions, base.action_reason = ["update"], "update_because_last_apply_failed"
        base.reason = f"the last apply failed: {before.get('error', 'unknown error')}"
    elif upstream:
        base.actions, base.action_reason = ["update"], "update_because_upstream_changed"
        base.reason = f"upstream changed: {', '.join(upstream)}"
    elif problem:
        base.actions, base.action_reason = ["update"], "update_because_changed_outside"
        base.reason = f"changed outside of mlform: {problem}"
    elif meta_fields:
        base.actions, base.action_reason = ["update"], "update_metadata_only"
        base.metadata_only = True
        base.reason = "metadata only (nothing retrains or redeploys): " + ", ".join(
            f.path for f in meta_fields
        )


def _respecified(before: dict[str, Any], recorded: dict[str, dict[str, Any]]) -> list[str]:
    """Dependencies whose recorded specs are not those this resource was applied after: an
    apply stopped between them, so this one's outputs came from the older specs."""
    return [
        dependency
        for dependency, spec_hash in (before.get("upstream_specs") or {}).items()
        if dependency in recorded and recorded[dependency].get("spec_hash") != spec_hash
    ]


def _moved(before: dict[str, Any], recorded: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """Dependencies whose version changed since this resource was applied (an apply that
    stopped between a model and its deployment)."""
    moved = []
    for dependency, version in (before.get("upstream") or {}).items():
        now = (recorded.get(dependency, {}).get("outputs") or {}).get("version")
        if now is not None and now != version:
            moved.append((dependency, str(now)))
    return moved


def _propagates(upstream: Change, resource: Resource) -> bool:
    """Pipeline changes flow down the pipeline, and a model's to its deployments; monitors
    and retrain policies do not re-install for a new version."""
    return resource.type in PIPELINE or (resource.type == "deployment" and upstream.type == "model")


def _short(f: Field) -> str:
    return f"{f.path} {_value(f.before)} → {_value(f.after)}"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"
