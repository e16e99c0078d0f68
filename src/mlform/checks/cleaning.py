"""A Dataset's cleaning rules name columns of its schema, in ways that fit their dtypes."""

from __future__ import annotations

from mlform import conditions as C
from mlform.checks.context import Context
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import Dataset
from mlform.spec.cleaning import BOUNDS, DropWhere, OutsideSchema
from mlform.workspace import SpecDocument

CLIPPABLE = ("int", "float")


def check_cleaning(ctx: Context) -> None:
    for doc, dataset in ctx.docs(Dataset):
        cleaning = dataset.spec.cleaning
        if cleaning is None:
            continue
        for index, rule in enumerate(cleaning.rules):
            loc: Loc = ("spec", "cleaning", "rules", index, rule.kind)
            if rule.drop_duplicates is not None:
                for i, name in enumerate(rule.drop_duplicates.subset or []):
                    _known(ctx, doc, dataset, (*loc, "subset", i), name)
            if rule.outside_schema is not None:
                _check_schema_rule(ctx, doc, dataset, loc, rule.outside_schema)
            if rule.drop_where is not None:
                _check_condition(ctx, doc, dataset, (*loc, "condition"), rule.drop_where)


def _known(ctx: Context, doc: SpecDocument, dataset: Dataset, loc: Loc, name: str) -> bool:
    columns = list(dataset.spec.columns)
    if name in dataset.spec.columns:
        return True
    ctx.report(
        doc, loc, "E204", f"column '{name}' is not in the column schema{suggestion(name, columns)}"
    )
    return False


def _check_schema_rule(
    ctx: Context, doc: SpecDocument, dataset: Dataset, loc: Loc, rule: OutsideSchema
) -> None:
    schema = dataset.spec.columns
    for i, name in enumerate(rule.columns or []):
        if not _known(ctx, doc, dataset, (*loc, "columns", i), name) or rule.action != "clip":
            continue
        column = schema[name]
        if column.dtype not in CLIPPABLE:
            ctx.report(
                doc,
                (*loc, "columns", i),
                "E209",
                f"clip moves numbers to a column's min or max; '{name}' is {column.dtype} "
                "(use action: drop)",
            )
        elif all(getattr(column, b) is None for b in rule.constraints or BOUNDS):
            wanted = " or ".join(rule.constraints or BOUNDS)
            ctx.report(
                doc,
                (*loc, "columns", i),
                "E209",
                f"'{name}' declares no {wanted} to clip to",
            )
    if rule.action == "clip" and rule.columns is None:
        bounded = [
            n for n, c in schema.items() if c.dtype in CLIPPABLE and (c.min, c.max) != (None, None)
        ]
        if not bounded:
            ctx.report(
                doc,
                (*loc, "action"),
                "E209",
                "no int or float column declares a min or max, so there is nothing to clip",
            )


def _check_condition(
    ctx: Context, doc: SpecDocument, dataset: Dataset, loc: Loc, rule: DropWhere
) -> None:
    text = rule.condition
    tree = C.parse(text)  # the spec model parsed it already: a syntax error is reported there
    schema = dataset.spec.columns
    names = list(schema)
    for column in C.columns(tree):
        if column.name not in schema:
            ctx.report(
                doc,
                loc,
                "E204",
                f"column '{column.name}' (character {column.position + 1}) is not in the "
                f"column schema{suggestion(column.name, names)}",
            )
    dtypes = {name: column.dtype for name, column in schema.items()}
    for position, message in C.type_problems(tree, dtypes):
        ctx.report(doc, loc, "E209", f"{message} (character {position + 1})")
