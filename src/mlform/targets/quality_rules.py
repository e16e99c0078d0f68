"""The alerts of a Monitor's production fairness and data quality (see ``prometheus``).

Both read what `mlform monitor run` exports (``monitoring.export``). Every spec value in a
rule is a PromQL string (``promql_string``) or a number; column and group names reach
annotations only through ``$labels`` (the metric's label values, never expanded again). The
unit tests' series use fixed label values, since the alert is about their shape.
"""

from __future__ import annotations

from mlform.project import ProjectGraph
from mlform.spec import Monitor
from mlform.targets.promql import VALUE, Alert, promql_string, series


def fairness_alerts(graph: ProjectGraph, monitor: Monitor) -> list[Alert]:
    """MLformFairness: a sensitive feature's metric across its bound, on at least two groups
    of ``min_group_size`` labelled rows (the runtime exports no value otherwise; the rule
    does not trust that alone)."""
    spec = monitor.spec.fairness
    assert spec is not None
    model = graph.model_of(graph.deployment_of(monitor))
    definition = spec.resolved(model.spec.gates.fairness)
    if definition is None:
        return []  # validate reports it (E218)
    metric = definition.metric
    ratio = metric.endswith("_ratio")
    bound = definition.min if ratio else definition.max
    if bound is None:
        return []  # validate reports it (E213)
    n = promql_string(monitor.metadata.name)
    own = {"monitor": monitor.metadata.name, "model": model.metadata.name}
    labels = {**own, "version": "v1", "metric": metric, "feature": "f"}
    op, bad, good = (
        ("<", bound / 2, (1 + bound) / 2) if ratio else (">", (1 + bound) / 2, bound / 2)
    )
    value_name, groups_name = "mlform_fairness_value", "mlform_fairness_groups"
    return [
        Alert(
            "MLformFairness",
            "fairness",
            f"{value_name}{{monitor={n},metric={promql_string(metric)}}} {op} {bound:g} "
            f"and on (monitor, metric, feature) {groups_name}{{monitor={n}}} >= 2",
            f"{metric} of {model.metadata.name} for {{{{ $labels.feature }}}} is "
            f"{'below' if ratio else 'above'} {bound:g}",
            f"{metric} of {model.metadata.name} between the groups of {{{{ $labels.feature }}}} "
            f"on labelled traffic is {VALUE} ({'at least' if ratio else 'at most'} {bound:g} "
            "expected).",
            [series(value_name, labels, f"{bad:g}x200"), series(groups_name, labels, "2x200")],
            [series(value_name, labels, f"{good:g}x200"), series(groups_name, labels, "2x200")],
            f"{bad:.3f}",
            {"version": "v1", "metric": metric, "feature": "f"},
            # a bad value on fewer than two large-enough groups is too little evidence
            [[series(value_name, labels, f"{bad:g}x200"), series(groups_name, labels, "1x200")]],
        )
    ]


def data_quality_alerts(monitor: Monitor, model: str) -> list[Alert]:
    """MLformDataQuality (a column's share of rows breaking one check is over its
    threshold) and MLformDataQualityRows (the share of rows breaking any check is over
    max_row_share)."""
    spec = monitor.spec.data_quality
    assert spec is not None
    n = promql_string(monitor.metadata.name)
    own = {"monitor": monitor.metadata.name, "model": model}
    labels = {**own, "version": "v1", "feature": "f", "check": "out_of_range"}
    share, violated = "mlform_data_quality_share", "mlform_data_quality_violated"
    rows = "mlform_data_quality_row_share"
    limit = spec.max_row_share
    out = [
        Alert(
            "MLformDataQuality",
            "data_quality",
            f"{share}{{monitor={n}}} and on (monitor, feature, check) {violated}{{monitor={n}}} == 1",
            f"{{{{ $labels.feature }}}} of {model}'s requests fails {{{{ $labels.check }}}}",
            f"{VALUE} of the window's requests to {model} fail the Dataset's "
            "{{ $labels.check }} check on column {{ $labels.feature }}.",
            [series(share, labels, "0.25x200"), series(violated, labels, "1x200")],
            [series(share, labels, "0.25x200"), series(violated, labels, "0x200")],
            "0.250",
            {"version": "v1", "feature": "f", "check": "out_of_range"},
        )
    ]
    if limit < 1:
        bad, good = (1 + limit) / 2, limit / 2
        out.append(
            Alert(
                "MLformDataQualityRows",
                "data_quality",
                f"{rows}{{monitor={n}}} > {limit:g}",
                f"requests to {model} break the Dataset's schema",
                f"{VALUE} of the window's requests to {model} break at least one check of the "
                f"Dataset's schema; at most {limit:g} is expected.",
                [series(rows, {**own, "version": "v1"}, f"{bad:g}x200")],
                [series(rows, {**own, "version": "v1"}, f"{good:g}x200")],
                f"{bad:.3f}",
                {"version": "v1"},
            )
        )
    return out
