"""A FeatureSet's transforms → one scikit-learn ColumnTransformer that skl2onnx converts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlform import stage_params as P
from mlform.runtime.frames import NUMERIC

if TYPE_CHECKING:
    from mlform.expressions import Node


def build_column_transformer(
    featureset: P.FeatureSetParams, dtypes: dict[str, str], inputs: list[str], name: str = ""
) -> Any:
    """One part per transform; a transform naming derived features computes them (and
    passes its dataset columns through) first, then runs its steps; derived features no
    transform names are one part of their own, fed to the estimator as they are."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    derived = derived_trees(featureset, name)
    parts = []
    for index, transform in enumerate(featureset.transforms):
        if transform.drop:
            continue
        names = [c for c in transform.columns if c in inputs or c in derived]
        if not names:
            continue
        categorical = any(c not in derived and dtypes[c] not in NUMERIC for c in names)
        steps = []
        if any(c in derived for c in names):
            compute, names = _derive(names, derived, inputs)
            steps.append(("derive", compute))
        for i, step in enumerate(transform.steps or []):
            steps.append((f"{i}-{step.kind}", _step(step.options, categorical, names)))
            # After an encoder (or bin) the columns are numbers, whatever they were.
            categorical = categorical and step.kind not in ("onehot", "ordinal", "bin")
        parts.append((f"t{index}", Pipeline(steps) if steps else "passthrough", names))
    named = {c for t in featureset.transforms for c in t.columns}
    alone = [d for d in derived if d not in named]
    if alone:
        compute, reads = _derive(alone, derived, inputs)
        parts.append(("derived", compute, reads))
    if featureset.remainder == "passthrough":
        # numeric only, as validation guarantees; not named "remainder", a
        # ColumnTransformer argument, which scikit-learn refuses as a name
        rest = [c for c in inputs if c not in named]
        if rest:
            parts.append(("rest", "passthrough", rest))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def derived_trees(featureset: P.FeatureSetParams, name: str) -> dict[str, Node]:
    """Each derived feature's tree over dataset columns only (earlier derived features
    inlined); an expression that does not parse (params.yaml edited by hand) is a
    UserError naming it."""
    from mlform.errors import UserError
    from mlform.expressions import ExpressionError, inline, parse

    trees: dict[str, Node] = {}
    for feature, source in (featureset.derived or {}).items():
        try:
            trees[feature] = inline(parse(source), trees)
        except ExpressionError as problem:
            raise UserError(
                f"params.yaml: featureset.{name}.derived.{feature}: {problem.message} "
                f"(at character {problem.at + 1}); {P.STALE}"
            ) from None
    return trees


def _derive(names: list[str], derived: dict[str, Node], inputs: list[str]) -> tuple[Any, list[str]]:
    """A DerivedFeatures computing ``names`` (a dataset column among them passes through)
    and the dataset columns it reads, in input order."""
    from mlform.expressions import Column, columns, to_source
    from mlform.runtime.derived import DerivedFeatures

    trees = [derived.get(n, Column(n)) for n in names]
    read = {c.name for tree in trees for c in columns(tree)}
    reads = [c for c in inputs if c in read]
    features = [(n, to_source(tree)) for n, tree in zip(names, trees, strict=True)]
    return DerivedFeatures(features, reads), reads


def _step(options: P.Options, categorical: bool, names: list[str]) -> Any:
    from sklearn import preprocessing
    from sklearn.impute import SimpleImputer

    from mlform.runtime import transformers

    if isinstance(options, P.Impute):
        fill = options.fill_value
        if not categorical:  # validation admits only a number to fill numeric columns
            return transformers.impute(options.strategy, None if fill is None else float(fill))
        return SimpleImputer(missing_values="", strategy=options.strategy, fill_value=fill)
    if isinstance(options, P.Scale):
        return {
            "standard": preprocessing.StandardScaler,
            "minmax": preprocessing.MinMaxScaler,
            "robust": preprocessing.RobustScaler,
            "maxabs": preprocessing.MaxAbsScaler,
        }[options.method]()
    if isinstance(options, P.OneHot):
        return preprocessing.OneHotEncoder(
            handle_unknown=options.handle_unknown,
            min_frequency=options.min_frequency,
            max_categories=options.max_categories,
            drop=options.drop,
            sparse_output=False,
        )
    if isinstance(options, P.Ordinal):
        categories = options.categories
        return preprocessing.OrdinalEncoder(
            categories=[[str(v) for v in categories[c]] for c in names] if categories else "auto",
            handle_unknown=options.handle_unknown,
            unknown_value=options.unknown_value
            if options.handle_unknown == "use_encoded_value"
            else None,
        )
    if isinstance(options, P.Bin):
        return preprocessing.KBinsDiscretizer(
            n_bins=options.n_bins,
            strategy=options.strategy,
            encode="onehot-dense" if options.encode == "onehot-dense" else "ordinal",
            quantile_method="averaged_inverted_cdf",
        )
    if isinstance(options, P.Clip):
        return transformers.clip(options.min, options.max)
    if isinstance(options, P.Log):
        return transformers.log(options.offset)
    return preprocessing.PolynomialFeatures(
        degree=options.degree,
        interaction_only=options.interaction_only,
        include_bias=options.include_bias,
    )
