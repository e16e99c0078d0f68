"""A Monitor's production fairness and data quality name what the model is served and sent:
columns of its Dataset, a fairness metric with the bound that fits it."""

from __future__ import annotations

from mlform.checks.context import Context
from mlform.checks.training import check_fairness_bounds
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import Dataset, Model, Monitor
from mlform.workspace import SpecDocument


def check_fairness(
    ctx: Context,
    doc: SpecDocument,
    monitor: Monitor,
    model: Model | None,
    dataset: Dataset | None,
    task: str | None,
) -> None:
    spec = monitor.spec.fairness
    if spec is None or model is None:
        return
    loc: Loc = ("spec", "fairness")
    gate = model.spec.gates.fairness
    definition = spec.resolved(gate)
    if definition is None:
        ctx.report(
            doc,
            loc,
            "E218",
            f"production fairness needs sensitive_features: Model '{model.metadata.name}' has "
            "no fairness gate to take them from",
        )
        return
    if task == "regression":
        ctx.report(
            doc,
            loc,
            "W301",
            f"production fairness on a regression model: {definition.metric} is defined for "
            "classifiers, so it cannot be evaluated",
        )
    if spec.min is not None or spec.max is not None:
        check_fairness_bounds(ctx, doc, loc, definition.metric, spec.min, spec.max)
    elif gate is None or gate.metric != definition.metric:  # else the gate's, checked there
        inherited = f"; the Model's gate bounds {gate.metric}" if gate is not None else ""
        check_fairness_bounds(
            ctx, doc, loc, definition.metric, definition.min, definition.max, inherited
        )
    if dataset is None:
        return
    columns = list(dataset.spec.columns)
    for i, column in enumerate(spec.sensitive_features or []):
        where: Loc = (*loc, "sensitive_features", i)
        if column == dataset.spec.target:
            ctx.report(doc, where, "E206", f"'{column}' is the target, not a sensitive feature")
        elif column not in columns:
            ctx.report(
                doc,
                where,
                "E205",
                f"sensitive feature '{column}' is neither a model input nor a column of Dataset "
                f"'{dataset.metadata.name}' that feedback `columns` can carry"
                f"{suggestion(column, columns)}",
            )


def check_data_quality(
    ctx: Context, doc: SpecDocument, monitor: Monitor, dataset: Dataset | None, inputs: list[str]
) -> None:
    spec = monitor.spec.data_quality
    if spec is None or dataset is None:
        return
    columns = list(dataset.spec.columns)
    named: list[tuple[Loc, str, bool]] = [
        (("spec", "data_quality", "columns", i), c, False) for i, c in enumerate(spec.columns or [])
    ]
    named += [(("spec", "data_quality", "per_column", c), c, True) for c in spec.per_column]
    for loc, column, is_key in named:
        if column not in columns:
            ctx.report(
                doc,
                loc,
                "E204",
                f"column '{column}' is not a column of Dataset '{dataset.metadata.name}'"
                f"{suggestion(column, columns)}",
                at_key=is_key,
            )
        elif column not in inputs:
            ctx.report(
                doc,
                loc,
                "W012",
                f"'{column}' is not a model input, so the served requests do not carry it",
                at_key=is_key,
            )
        elif is_key and spec.columns is not None and column not in spec.columns:
            ctx.report(
                doc,
                loc,
                "W012",
                f"'{column}' is not among data_quality.columns, so it is not checked",
                at_key=True,
            )
