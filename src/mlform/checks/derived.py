"""A FeatureSet's derived features: each expression parses, reads columns that exist (the
Dataset's, or derived features declared before it) and of kinds that fit, and gives a
number. Errors point at the character of the expression in the YAML where they are."""

from __future__ import annotations

from collections.abc import Mapping

from mlform import expressions as ex
from mlform.checks.context import Context
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import Dataset, FeatureSet
from mlform.spec.dataset import NUMERIC_DTYPES, Column
from mlform.workspace import SpecDocument

CODE = "E220"  # the expression is not in the language (syntax, limits, no column read)


def check_derived(ctx: Context, doc: SpecDocument, fs: FeatureSet, dataset: Dataset) -> None:
    schema = dataset.spec.columns
    target = dataset.spec.target
    derived = fs.spec.derived
    kinds: dict[str, str] = {}  # the names an expression may read, with their kinds
    for name, column in schema.items():
        if name == target:
            continue
        if column.dtype == "datetime":
            kinds[name] = ex.DATETIME
        elif column.dtype in NUMERIC_DTYPES:
            kinds[name] = ex.NUMBER
    for name, source in derived.items():
        loc: Loc = ("spec", "derived", name)
        if name in schema:
            ctx.report(
                doc,
                loc,
                CODE,
                f"'{name}' is a column of Dataset '{fs.spec.dataset}'; give the derived feature another name",
                at_key=True,
            )
            continue
        report = _Reporter(ctx, doc, loc, source)
        try:
            tree = ex.parse(source)
        except ex.ExpressionError as problem:
            report(CODE, problem.message, problem.at)
            continue
        if _references(report, tree, kinds, schema, target, list(derived), name, fs):
            continue
        if not ex.columns(tree):
            report(CODE, "the expression reads no column; a constant is not a feature", 0)
            continue
        try:
            kind = ex.kind_of(tree, kinds)
        except ex.ExpressionError as problem:
            report(CODE if problem.fits else "E209", problem.message, problem.at)
            continue
        if kind != ex.NUMBER:
            report(
                "E209",
                "a derived feature is a number, not a datetime; take a part of it "
                "(year, month, day, weekday, hour) or days_between two of them",
                0,
            )
            continue
        kinds[name] = ex.NUMBER


def _references(
    report: _Reporter,
    tree: ex.Node,
    kinds: dict[str, str],
    schema: Mapping[str, Column],
    target: str,
    declared: list[str],
    name: str,
    fs: FeatureSet,
) -> bool:
    """Report every column reference that cannot be read; True when there was one."""
    found = False
    for column in ex.columns(tree):
        ref = column.name
        if ref in kinds:
            continue
        found = True
        if ref == target:
            message = (
                f"'{ref}' is the target of Dataset '{fs.spec.dataset}'; a feature cannot read it"
            )
            report("E206", message, column.at)
        elif ref in schema:
            dtype = schema[ref].dtype
            report(
                "E209",
                f"'{ref}' is {dtype}; expressions read int, float, bool and datetime columns",
                column.at,
            )
        elif ref == name or (ref in declared and declared.index(ref) > declared.index(name)):
            report(
                "E204",
                f"derived feature '{ref}' is declared after this one; an expression reads "
                "dataset columns and the derived features above it",
                column.at,
            )
        else:
            candidates = [c for c in schema if c != target] + [
                d for d in declared[: declared.index(name)]
            ]
            hint = suggestion(ref, candidates)
            report(
                "E204",
                f"column '{ref}' is not in Dataset '{fs.spec.dataset}' nor a derived feature above{hint}",
                column.at,
            )
    return found


class _Reporter:
    """Reports at the character ``at`` of the expression where the YAML holds it verbatim
    (a plain or quoted scalar on one line), else at the start of the value."""

    def __init__(self, ctx: Context, doc: SpecDocument, loc: Loc, source: str) -> None:
        self.ctx, self.doc, self.loc, self.source = ctx, doc, loc, source

    def __call__(self, code: str, message: str, at: int) -> None:
        line, column = self.doc.raw.mark(self.loc)
        start = _start_column(self.doc.raw.text, line, column, self.source)
        self.ctx.report(
            self.doc, self.loc, code, message, mark=(line, column if start is None else start + at)
        )


def _start_column(text: str, line: int, column: int, source: str) -> int | None:
    """The column of the expression's first character when the YAML line holds the
    expression as it is (after an opening quote, if any), else None."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    row = lines[line - 1]
    first = column - 1
    if row[first : first + 1] in ("'", '"'):
        first += 1
    if row[first : first + len(source)] != source:
        return None
    return first + 1
