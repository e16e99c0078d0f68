"""A FeatureSet's transforms → one scikit-learn ColumnTransformer that skl2onnx converts."""

from __future__ import annotations

from typing import Any

from mlform.runtime.frames import NUMERIC


def build_column_transformer(
    featureset: dict[str, Any], columns: dict[str, Any], inputs: list[str]
) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    parts = []
    for index, transform in enumerate(featureset["transforms"]):
        names = [c for c in transform["columns"] if c in inputs]
        if transform.get("drop") or not names:
            continue
        categorical = any(columns[c]["dtype"] not in NUMERIC for c in names)
        steps = [
            (f"{i}-{kind}", _step(kind, options or {}, categorical, names))
            for i, step in enumerate(transform.get("steps", []))
            for kind, options in step.items()
        ]
        parts.append((f"t{index}", Pipeline(steps) if steps else "passthrough", names))
    claimed = {c for _, _, names in parts for c in names}
    rest = [c for c in inputs if c not in claimed]
    if rest:  # remainder: passthrough (numeric only, as validation guarantees)
        parts.append(("remainder", "passthrough", rest))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def _step(kind: str, options: dict[str, Any], categorical: bool, names: list[str]) -> Any:
    from sklearn import preprocessing
    from sklearn.impute import SimpleImputer

    from mlform.runtime.transformers import Clip, Impute, Log

    if kind == "impute":
        strategy, fill = options.get("strategy", "median"), options.get("fill_value")
        if not categorical:
            return Impute(strategy, fill)
        return SimpleImputer(missing_values="", strategy=strategy, fill_value=fill)
    if kind == "scale":
        method = options.get("method", "standard")
        return {
            "standard": preprocessing.StandardScaler,
            "minmax": preprocessing.MinMaxScaler,
            "robust": preprocessing.RobustScaler,
            "maxabs": preprocessing.MaxAbsScaler,
        }[method]()
    if kind == "onehot":
        return preprocessing.OneHotEncoder(
            handle_unknown=options.get("handle_unknown", "ignore"),
            min_frequency=options.get("min_frequency"),
            max_categories=options.get("max_categories"),
            drop=options.get("drop"),
            sparse_output=False,
        )
    if kind == "ordinal":
        categories = options.get("categories")
        return preprocessing.OrdinalEncoder(
            categories=[[str(v) for v in categories[c]] for c in names] if categories else "auto",
            handle_unknown=options.get("handle_unknown", "use_encoded_value"),
            unknown_value=options.get("unknown_value", -1)
            if options.get("handle_unknown", "use_encoded_value") == "use_encoded_value"
            else None,
        )
    if kind == "bin":
        return preprocessing.KBinsDiscretizer(
            n_bins=options.get("n_bins", 5),
            strategy=options.get("strategy", "quantile"),
            encode="onehot-dense" if options.get("encode") == "onehot-dense" else "ordinal",
            quantile_method="averaged_inverted_cdf",
        )
    if kind == "clip":
        return Clip(options.get("min"), options.get("max"))
    if kind == "log":
        return Log(options.get("offset", 1.0))
    if kind == "polynomial":
        return preprocessing.PolynomialFeatures(
            degree=options.get("degree", 2),
            interaction_only=options.get("interaction_only", False),
            include_bias=options.get("include_bias", False),
        )
    raise ValueError(f"unknown step {kind}")  # pragma: no cover - the schema admits no other
