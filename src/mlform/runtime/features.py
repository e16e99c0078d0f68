"""A FeatureSet's transforms → one scikit-learn ColumnTransformer that skl2onnx converts."""

from __future__ import annotations

from typing import Any

from mlform import stage_params as P
from mlform.runtime.frames import NUMERIC


def build_column_transformer(
    featureset: P.FeatureSetParams, dtypes: dict[str, str], inputs: list[str]
) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    parts = []
    for index, transform in enumerate(featureset.transforms):
        names = [c for c in transform.columns if c in inputs]
        if transform.drop or not names:
            continue
        categorical = any(dtypes[c] not in NUMERIC for c in names)
        steps = []
        for i, step in enumerate(transform.steps or []):
            steps.append((f"{i}-{step.kind}", _step(step.options, categorical, names)))
            # After an encoder (or bin) the columns are numbers, whatever they were.
            categorical = categorical and step.kind not in ("onehot", "ordinal", "bin")
        parts.append((f"t{index}", Pipeline(steps) if steps else "passthrough", names))
    claimed = {c for _, _, names in parts for c in names}
    rest = [c for c in inputs if c not in claimed]
    if rest:  # remainder: passthrough (numeric only, as validation guarantees); not named
        # "remainder", a ColumnTransformer argument, which scikit-learn refuses as a name
        parts.append(("rest", "passthrough", rest))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


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
