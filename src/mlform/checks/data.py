"""Datasets are self-consistent; feature sets use columns that exist, in ways that fit them."""

from __future__ import annotations

from mlform.checks.context import Context
from mlform.checks.derived import check_derived
from mlform.loader import Loc
from mlform.patterns import PatternInvalid, compile_pattern
from mlform.schema_errors import suggestion
from mlform.spec import Dataset, FeatureSet
from mlform.spec.dataset import CATEGORICAL_DTYPES, NUMERIC_DTYPES, Column
from mlform.spec.featureset import Transform
from mlform.workspace import SpecDocument

NUMERIC_STEPS = ("scale", "bin", "clip", "log", "polynomial")
ENCODERS = ("onehot", "ordinal")


def check_datasets(ctx: Context) -> None:
    for doc, dataset in ctx.docs(Dataset):
        spec = dataset.spec
        columns = list(spec.columns)
        if spec.target not in spec.columns:
            ctx.report(
                doc,
                ("spec", "target"),
                "E204",
                f"target column '{spec.target}' is not in the column schema"
                f"{suggestion(spec.target, columns)}",
            )
        for name, column in spec.columns.items():
            _check_column(ctx, doc, ("spec", "columns", name), name, column)
        split = spec.split
        if split.time_column is not None:
            time_column = spec.columns.get(split.time_column)
            loc: Loc = ("spec", "split", "time_column")
            if time_column is None:
                hint = suggestion(split.time_column, columns)
                ctx.report(
                    doc,
                    loc,
                    "E204",
                    f"time column '{split.time_column}' is not in the column schema{hint}",
                )
            elif time_column.dtype not in ("datetime", "int", "float"):
                ctx.report(
                    doc,
                    loc,
                    "E209",
                    f"a time column must be datetime or numeric; '{split.time_column}' is {time_column.dtype}",
                )
        duplicates = spec.checks.duplicates
        for i, name in enumerate((duplicates.subset or []) if duplicates else []):
            if name not in spec.columns:
                hint = suggestion(name, columns)
                ctx.report(
                    doc,
                    ("spec", "checks", "duplicates", "subset", i),
                    "E204",
                    f"column '{name}' is not in the column schema{hint}",
                )


def _check_column(ctx: Context, doc: SpecDocument, loc: Loc, name: str, column: Column) -> None:
    numeric = column.dtype in NUMERIC_DTYPES and column.dtype != "bool"
    for bound in ("min", "max"):
        if getattr(column, bound) is not None and not numeric:
            ctx.report(
                doc,
                (*loc, bound),
                "E209",
                f"'{bound}' applies to int and float columns; '{name}' is {column.dtype}",
            )
    if column.regex is not None:
        if column.dtype not in CATEGORICAL_DTYPES:
            ctx.report(
                doc,
                (*loc, "regex"),
                "E209",
                f"'regex' applies to string and category columns; '{name}' is {column.dtype}",
            )
        try:
            compile_pattern(column.regex)
        except PatternInvalid as invalid:
            ctx.report(doc, (*loc, "regex"), "E208", invalid.message)
    if column.allowed is not None and column.dtype in ("int", "float"):
        for i, value in enumerate(column.allowed):
            if isinstance(value, bool) or not isinstance(value, int | float):
                ctx.report(
                    doc,
                    (*loc, "allowed", i),
                    "E209",
                    f"'{value}' is not a number, but '{name}' is {column.dtype}",
                )


def check_featuresets(ctx: Context) -> None:
    for doc, fs in ctx.docs(FeatureSet):
        dataset = ctx.get(Dataset, fs.spec.dataset)
        if dataset is None:
            continue  # reported as an unresolved reference
        schema = dataset.spec.columns
        check_derived(ctx, doc, fs, dataset)
        derived = [d for d in fs.spec.derived if d not in schema]
        dtypes: dict[str, str] = {c: schema[c].dtype for c in schema}
        dtypes.update({d: "float" for d in derived})
        claimed: dict[str, int] = {}
        for t, transform in enumerate(fs.spec.transforms):
            for c, column in enumerate(transform.columns):
                loc: Loc = ("spec", "transforms", t, "columns", c)
                if column not in dtypes:
                    hint = suggestion(column, [*schema, *derived])
                    ctx.report(
                        doc,
                        loc,
                        "E204",
                        f"column '{column}' is not in Dataset '{fs.spec.dataset}' "
                        f"nor a derived feature{hint}"
                        if derived
                        else f"column '{column}' is not in Dataset '{fs.spec.dataset}'{hint}",
                    )
                    continue
                if column == dataset.spec.target and not transform.drop:
                    ctx.report(
                        doc,
                        loc,
                        "E206",
                        f"'{column}' is the target of Dataset '{fs.spec.dataset}' and cannot be a feature",
                    )
                if column in claimed:
                    ctx.report(
                        doc,
                        loc,
                        "W003",
                        f"column '{column}' is also used by transform {claimed[column]}; it will be fed twice",
                    )
                claimed.setdefault(column, t)
            if not transform.drop:
                _check_steps(ctx, doc, t, transform, dtypes)
        inputs = model_inputs(fs, dataset)
        if not inputs:
            ctx.report(
                doc,
                ("spec", "transforms"),
                "E210",
                "no column reaches the estimator: every column is dropped",
            )
        if fs.spec.remainder == "passthrough":
            for column in inputs:
                if column not in claimed and schema[column].dtype not in NUMERIC_DTYPES:
                    ctx.report(
                        doc,
                        ("spec", "remainder"),
                        "E209",
                        f"remainder: passthrough would feed {schema[column].dtype} column '{column}' "
                        "to the estimator unencoded; give it a transform with onehot or ordinal",
                    )


def model_inputs(fs: FeatureSet, dataset: Dataset) -> list[str]:
    """Dataset columns the fitted pipeline takes as input, in schema order: those the
    transforms use (or the remainder passes through), and those derived features read,
    dropped or not (see runtime.frames.model_inputs)."""
    from mlform.expressions import dataset_columns

    used = {c for t in fs.spec.transforms if not t.drop for c in t.columns}
    dropped = {c for t in fs.spec.transforms if t.drop for c in t.columns}
    read = dataset_columns(fs.spec.derived)
    names = []
    for column in dataset.spec.columns:
        if column == dataset.spec.target:
            continue
        if column in read or (
            column not in dropped and (column in used or fs.spec.remainder == "passthrough")
        ):
            names.append(column)
    return names


def _check_steps(
    ctx: Context, doc: SpecDocument, t: int, transform: Transform, all_dtypes: dict[str, str]
) -> None:
    """``all_dtypes``: every column's dtype, derived features' ``float``."""
    known = [c for c in transform.columns if c in all_dtypes]
    dtypes = {c: all_dtypes[c] for c in known}
    categorical = [c for c in known if dtypes[c] in CATEGORICAL_DTYPES]
    dates = [c for c in known if dtypes[c] == "datetime"]
    numeric = [c for c in known if dtypes[c] in NUMERIC_DTYPES]
    if categorical and numeric:
        ctx.report(
            doc,
            ("spec", "transforms", t, "columns"),
            "E209",
            f"this transform mixes numeric ({_list(numeric)}) and {dtypes[categorical[0]]} "
            f"({_list(categorical)}) columns; give each kind its own transform",
        )
        return
    encoded = False
    for s, step in enumerate(transform.steps):
        loc: Loc = ("spec", "transforms", t, "steps", s, step.kind)
        kind = step.kind
        if kind in NUMERIC_STEPS and not encoded and categorical:
            ctx.report(
                doc,
                loc,
                "E209",
                f"{kind} needs numeric columns; {_list(categorical)} {_is(categorical)} {dtypes[categorical[0]]}",
            )
        if (
            kind == "impute"
            and step.impute
            and step.impute.strategy in ("mean", "median")
            and categorical
            and not encoded
        ):
            ctx.report(
                doc,
                loc,
                "E209",
                f"impute strategy '{step.impute.strategy}' needs numeric columns; use most_frequent or constant for {_list(categorical)}",
            )
        if (
            kind == "impute"
            and step.impute
            and step.impute.strategy == "constant"
            and step.impute.fill_value is None
        ):
            ctx.report(doc, loc, "E209", "impute strategy 'constant' needs 'fill_value'")
        if kind in ENCODERS and not encoded and numeric:
            ctx.report(
                doc,
                loc,
                "E209",
                f"{kind} encodes categorical columns; {_list(numeric)} {_is(numeric)} numeric (bin buckets numbers)",
            )
        if kind == "ordinal" and step.ordinal and step.ordinal.categories:
            given = step.ordinal.categories
            for column in given:
                if column not in transform.columns:
                    where: Loc = (*loc, "categories", column)
                    ctx.report(
                        doc,
                        where,
                        "E204",
                        f"'{column}' is not one of this transform's columns",
                        at_key=True,
                        field_path=where[:-1],
                    )
            missing = [c for c in transform.columns if c not in given]
            if missing:
                ctx.report(
                    doc,
                    (*loc, "categories"),
                    "E209",
                    f"categories must list every column of the transform; missing {_list(missing)}",
                )
        encoded = encoded or kind in ENCODERS or kind == "bin"
    if categorical and not encoded:
        ctx.report(
            doc,
            ("spec", "transforms", t),
            "E209",
            f"{_list(categorical)} {_is(categorical)} {dtypes[categorical[0]]} and would reach the estimator "
            "unencoded; add an onehot or ordinal step (or drop: true)",
        )
    if dates:
        ctx.report(
            doc,
            ("spec", "transforms", t),
            "E209",
            f"datetime column {_list(dates)} cannot be a model input; drop it",
        )


def _list(columns: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _is(columns: list[str]) -> str:
    return "is" if len(columns) == 1 else "are"
