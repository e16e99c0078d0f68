#!/usr/bin/env python3
"""Generate a realistic mlform spec repository for benchmarks.

    python benchmarks/gen_repo.py --models 200 --out benchmarks/.work/repo-200

Per model it writes five files, one document each (check-jsonschema reads one YAML document
per file): ``ml/<model>/dataset.yaml``, ``features.yaml``, ``training.yaml``, ``model.yaml``,
``deployment.yaml``; plus ``mlform.yaml`` (the Project) and one shared ``data/shared.csv``
that every Dataset points at, so ``mlform validate`` reports no W002 (missing data).

The output is deterministic: the same ``--models`` and ``--seed`` give byte-identical files.
Every document is meant to be valid for both ``mlform validate`` (schema and cross-document
checks, no warnings) and ``check-jsonschema --schemafile schemas/mlform.schema.json``;
``bench_validate.py`` checks both before it times anything.

Only the standard library is used, so the generator runs under any Python >= 3.11.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path
from typing import Any

MARKER = ".mlform-bench-repo"
CSV_ROWS = 200
KINDS = ("dataset", "features", "training", "model", "deployment")

# --------------------------------------------------------------------------------------------
# The shared data: one CSV holding every column any generated Dataset may declare.
# name -> column schema (as written in a Dataset); values in the CSV respect it.
# --------------------------------------------------------------------------------------------
ID_COLUMN = ("record_id", {"dtype": "string", "unique": True, "regex": "^R[0-9]{7}$"})
TIME_COLUMN = ("event_at", {"dtype": "datetime"})

NUMERIC: dict[str, dict[str, Any]] = {
    "age": {"dtype": "int", "min": 18, "max": 95},
    "income": {"dtype": "float", "min": 0},
    "tenure_months": {"dtype": "int", "min": 0, "max": 240},
    "balance": {"dtype": "float"},
    "num_products": {"dtype": "int", "min": 1, "max": 8},
    "credit_score": {"dtype": "int", "min": 300, "max": 850},
    "monthly_spend": {"dtype": "float", "min": 0},
    "visits_30d": {"dtype": "int", "min": 0},
    "support_tickets": {"dtype": "int", "min": 0, "max": 50},
    "discount_rate": {"dtype": "float", "min": 0, "max": 1},
    "days_since_purchase": {"dtype": "int", "min": 0, "max": 3650},
    "avg_basket": {"dtype": "float", "min": 0},
    "session_minutes": {"dtype": "float", "nullable": True, "min": 0, "max": 600},
    "page_views": {"dtype": "int", "min": 0},
    "returns_ratio": {"dtype": "float", "nullable": True, "min": 0, "max": 1},
    "is_member": {"dtype": "bool"},
}
CATEGORICAL: dict[str, dict[str, Any]] = {
    "region": {"dtype": "category", "allowed": ["north", "south", "east", "west"]},
    "channel": {"dtype": "category", "allowed": ["web", "store", "phone", "partner"]},
    "plan": {"dtype": "category", "allowed": ["basic", "standard", "premium"]},
    "device": {"dtype": "category", "allowed": ["ios", "android", "desktop"]},
    "segment": {"dtype": "category", "allowed": ["consumer", "smb", "enterprise"]},
    "payment_method": {"dtype": "string", "nullable": True},
}
SENSITIVE: dict[str, dict[str, Any]] = {
    "gender": {"dtype": "category", "allowed": ["female", "male", "other"]},
    "age_band": {"dtype": "category", "allowed": ["18-29", "30-44", "45-59", "60+"]},
}
# problem -> (task, target column, its schema)
PROBLEMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "churn": ("classification", "churned", {"dtype": "int", "allowed": [0, 1]}),
    "conversion": ("classification", "converted", {"dtype": "int", "allowed": [0, 1]}),
    "default-risk": ("classification", "defaulted", {"dtype": "int", "allowed": [0, 1]}),
    "fraud": ("classification", "is_fraud", {"dtype": "int", "allowed": [0, 1]}),
    "revenue": ("regression", "revenue_90d", {"dtype": "float", "min": 0}),
    "ltv": ("regression", "lifetime_value", {"dtype": "float", "min": 0}),
    "demand": ("regression", "units_next_week", {"dtype": "float", "min": 0}),
}
TEAMS = ("growth-ml", "risk-ml", "pricing-ml", "ops-ml", "marketing-ds")

# --------------------------------------------------------------------------------------------
# Estimators (all from `mlform schema estimators`), with realistic parameter values.
# param -> list of values (categorical) or (low, high, log, type) (a range to tune over).
# --------------------------------------------------------------------------------------------
Range = tuple[float, float, bool, str]
ESTIMATORS: dict[str, tuple[str, str, dict[str, list[Any] | Range]]] = {
    # name: (task, short name for the Training, params)
    "LogisticRegression": (
        "classification",
        "logreg",
        {
            "C": (0.001, 100.0, True, "float"),
            "max_iter": [200, 500, 1000],
            "class_weight": ["balanced", None],
            "solver": ["lbfgs", "liblinear", "saga"],
        },
    ),
    "SGDClassifier": (
        "classification",
        "sgd",
        {
            "alpha": (1e-06, 0.01, True, "float"),
            "penalty": ["l2", "l1", "elasticnet"],
            "loss": ["hinge", "modified_huber"],
            "max_iter": [1000, 2000],
        },
    ),
    "LinearSVC": (
        "classification",
        "linsvc",
        {
            "C": (0.01, 10.0, True, "float"),
            "max_iter": [2000, 5000],
            "class_weight": ["balanced", None],
        },
    ),
    "SVC": (
        "classification",
        "svc",
        {
            "C": (0.1, 100.0, True, "float"),
            "kernel": ["rbf", "linear", "poly"],
            "gamma": ["scale", "auto"],
            "probability": [True],
        },
    ),
    "DecisionTreeClassifier": (
        "classification",
        "tree",
        {
            "max_depth": [3, 5, 8, 12],
            "min_samples_leaf": (1, 50, False, "int"),
            "criterion": ["gini", "entropy"],
            "class_weight": ["balanced", None],
        },
    ),
    "RandomForestClassifier": (
        "classification",
        "rf",
        {
            "n_estimators": [100, 200, 400],
            "max_depth": [6, 10, 16, None],
            "min_samples_leaf": (1, 20, False, "int"),
            "max_features": ["sqrt", "log2"],
            "n_jobs": [2],
        },
    ),
    "ExtraTreesClassifier": (
        "classification",
        "extratrees",
        {
            "n_estimators": [100, 300],
            "max_depth": [8, 16, None],
            "min_samples_split": (2, 20, False, "int"),
            "bootstrap": [False, True],
        },
    ),
    "GradientBoostingClassifier": (
        "classification",
        "gb",
        {
            "n_estimators": [100, 200, 300],
            "learning_rate": (0.01, 0.3, True, "float"),
            "max_depth": [2, 3, 4],
            "subsample": [0.7, 0.85, 1.0],
        },
    ),
    "HistGradientBoostingClassifier": (
        "classification",
        "gbm",
        {
            "max_iter": [100, 200, 300],
            "learning_rate": (0.02, 0.3, True, "float"),
            "max_leaf_nodes": [15, 31, 63],
            "l2_regularization": (0.0001, 1.0, True, "float"),
            "early_stopping": [True, False],
        },
    ),
    "AdaBoostClassifier": (
        "classification",
        "ada",
        {"n_estimators": [50, 100, 200], "learning_rate": (0.05, 1.0, True, "float")},
    ),
    "KNeighborsClassifier": (
        "classification",
        "knn",
        {"n_neighbors": [5, 11, 21, 41], "weights": ["uniform", "distance"], "p": [1, 2]},
    ),
    "MLPClassifier": (
        "classification",
        "mlp",
        {
            "hidden_layer_sizes": [[64], [128, 64], [64, 32]],
            "alpha": (1e-05, 0.01, True, "float"),
            "learning_rate_init": [0.001, 0.003],
            "max_iter": [300, 500],
            "early_stopping": [True],
        },
    ),
    "GaussianNB": ("classification", "gnb", {"var_smoothing": (1e-10, 1e-07, True, "float")}),
    "BernoulliNB": (
        "classification",
        "bnb",
        {"alpha": (0.01, 2.0, True, "float"), "binarize": [0.0, 0.5], "fit_prior": [True, False]},
    ),
    "LinearRegression": (
        "regression",
        "ols",
        {"fit_intercept": [True, False], "positive": [False, True]},
    ),
    "Ridge": (
        "regression",
        "ridge",
        {"alpha": (0.01, 100.0, True, "float"), "solver": ["auto", "svd", "cholesky"]},
    ),
    "Lasso": (
        "regression",
        "lasso",
        {
            "alpha": (0.0001, 10.0, True, "float"),
            "max_iter": [2000, 5000],
            "selection": ["cyclic", "random"],
        },
    ),
    "ElasticNet": (
        "regression",
        "enet",
        {
            "alpha": (0.0001, 10.0, True, "float"),
            "l1_ratio": [0.1, 0.5, 0.9],
            "max_iter": [2000, 5000],
        },
    ),
    "SGDRegressor": (
        "regression",
        "sgdreg",
        {
            "alpha": (1e-06, 0.01, True, "float"),
            "penalty": ["l2", "elasticnet"],
            "loss": ["squared_error", "huber"],
            "max_iter": [1000, 3000],
        },
    ),
    "BayesianRidge": (
        "regression",
        "bayesridge",
        {
            "alpha_1": (1e-07, 0.0001, True, "float"),
            "lambda_1": (1e-07, 0.0001, True, "float"),
            "max_iter": [300, 600],
        },
    ),
    "PoissonRegressor": (
        "regression",
        "poisson",
        {"alpha": (0.0001, 10.0, True, "float"), "max_iter": [300, 1000]},
    ),
    "LinearSVR": (
        "regression",
        "linsvr",
        {"C": (0.01, 10.0, True, "float"), "epsilon": [0.0, 0.1, 0.5], "max_iter": [5000]},
    ),
    "SVR": (
        "regression",
        "svr",
        {
            "C": (0.1, 100.0, True, "float"),
            "kernel": ["rbf", "linear"],
            "epsilon": [0.05, 0.1, 0.2],
        },
    ),
    "DecisionTreeRegressor": (
        "regression",
        "treereg",
        {
            "max_depth": [4, 6, 10],
            "min_samples_leaf": (1, 50, False, "int"),
            "criterion": ["squared_error", "absolute_error"],
        },
    ),
    "RandomForestRegressor": (
        "regression",
        "rfreg",
        {
            "n_estimators": [100, 200, 400],
            "max_depth": [8, 16, None],
            "min_samples_leaf": (1, 20, False, "int"),
            "max_features": [1.0, "sqrt"],
            "n_jobs": [2],
        },
    ),
    "ExtraTreesRegressor": (
        "regression",
        "extratreesreg",
        {
            "n_estimators": [100, 300],
            "max_depth": [10, None],
            "min_samples_split": (2, 20, False, "int"),
        },
    ),
    "GradientBoostingRegressor": (
        "regression",
        "gbreg",
        {
            "n_estimators": [100, 300],
            "learning_rate": (0.01, 0.3, True, "float"),
            "max_depth": [2, 3, 5],
            "loss": ["squared_error", "huber"],
        },
    ),
    "HistGradientBoostingRegressor": (
        "regression",
        "gbmreg",
        {
            "max_iter": [100, 200, 400],
            "learning_rate": (0.02, 0.3, True, "float"),
            "max_leaf_nodes": [15, 31, 63],
            "l2_regularization": (0.0001, 1.0, True, "float"),
        },
    ),
    "AdaBoostRegressor": (
        "regression",
        "adareg",
        {
            "n_estimators": [50, 100, 200],
            "learning_rate": (0.05, 1.0, True, "float"),
            "loss": ["linear", "square", "exponential"],
        },
    ),
    "KNeighborsRegressor": (
        "regression",
        "knnreg",
        {"n_neighbors": [5, 10, 20], "weights": ["uniform", "distance"], "leaf_size": [20, 30, 50]},
    ),
    "MLPRegressor": (
        "regression",
        "mlpreg",
        {
            "hidden_layer_sizes": [[64], [128, 64]],
            "alpha": (1e-05, 0.01, True, "float"),
            "learning_rate_init": [0.001, 0.003],
            "max_iter": [500, 1000],
        },
    ),
}
# Classifiers whose probabilities are meaningful enough to gate on log_loss.
PROBA = {
    "LogisticRegression",
    "SVC",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "GradientBoostingClassifier",
    "HistGradientBoostingClassifier",
    "MLPClassifier",
    "GaussianNB",
    "BernoulliNB",
    "DecisionTreeClassifier",
    "AdaBoostClassifier",
    "KNeighborsClassifier",
}
CLASSIFICATION_METRICS = ["roc_auc", "accuracy", "balanced_accuracy", "precision", "recall", "f1"]
REGRESSION_METRICS = ["rmse", "mae", "r2", "mape"]
HIGHER_IS_BETTER = {"accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "r2"}


# --------------------------------------------------------------------------------------------
# A small YAML emitter: block mappings, flow style for short scalar lists and small leaf
# mappings (as people write specs, see examples/), strings quoted whenever YAML could read
# them as anything but a string.
# --------------------------------------------------------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./@-]*( [A-Za-z0-9_./@'-]+)*")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "inf" in text or "nan" in text:
            text = f"{value:.12f}".rstrip("0")
            text = text + "0" if text.endswith(".") else text
        return text
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return scalar(value)


def _inline(value: Any) -> bool:
    """Whether a collection is written in flow style on one line."""
    if isinstance(value, list):
        return all(
            _is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v))) for v in value
        )
    if isinstance(value, dict):
        return (
            len(value) <= 4
            and all(
                _is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v)))
                for v in value.values()
            )
            and len(_flow(value)) <= 72
        )
    return True


def _block(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_scalar(item) or not item or _inline(item):
                lines.append(f"{pad}{scalar(key)}: {_flow(item)}")
            else:
                lines.append(f"{pad}{scalar(key)}:")
                lines.extend(_block(item, indent + 2))
    elif isinstance(value, list):
        for item in value:
            if _is_scalar(item) or _inline(item):
                lines.append(f"{pad}- {_flow(item)}")
            else:
                sub = _block(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
    return lines


def to_yaml(document: dict[str, Any]) -> str:
    return "\n".join(_block(document, 0)) + "\n"


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------
def envelope(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    meta.update({k: v for k, v in metadata.items() if v})
    return {"apiVersion": "mlform/v1", "kind": kind, "metadata": meta, "spec": spec}


def _value(rng: random.Random, choice: list[Any] | Range) -> Any:
    if isinstance(choice, list):
        return rng.choice(choice)
    low, high, log, kind = choice
    if kind == "int":
        return rng.randint(int(low), int(high))
    value = low * (high / low) ** rng.random() if log else rng.uniform(low, high)
    return float(f"{value:.3g}")


def _space(rng: random.Random, choice: list[Any] | Range, strategy: str) -> Any:
    if isinstance(choice, list):
        values = [v for v in choice]
        return values if len(values) > 1 else None
    low, high, log, kind = choice
    if strategy == "grid":
        if kind == "int":
            return sorted({int(low), int((low + high) // 2), int(high)})
        if log:
            return [float(f"{low * (high / low) ** t:.3g}") for t in (0.0, 0.5, 1.0)]
        return [float(f"{low + (high - low) * t:.3g}") for t in (0.0, 0.5, 1.0)]
    space: dict[str, Any] = {"low": low, "high": high}
    if log:
        space["log"] = True
    if kind == "int":
        space["type"] = "int"
    return space


def make_model(
    rng: random.Random, index: int, targets: tuple[str, ...] = ()
) -> tuple[str, dict[str, dict[str, Any]], int]:
    """The five documents of one model; returns (folder name, kind -> document, port used)."""
    problem = rng.choice(sorted(PROBLEMS))
    task, target, target_schema = PROBLEMS[problem]
    base = f"{problem}-{index:03d}"
    team = rng.choice(TEAMS)
    owner = f"{team}@example.com"

    # ---- Dataset: an id, maybe a timestamp, 4-9 numeric, 1-3 categorical, maybe a sensitive
    # attribute, and the target.
    numeric = rng.sample(sorted(NUMERIC), rng.randint(4, 9))
    categorical = rng.sample(sorted(CATEGORICAL), rng.randint(1, 3))
    sensitive = (
        rng.choice(sorted(SENSITIVE)) if task == "classification" and rng.random() < 0.5 else None
    )
    with_time = rng.random() < 0.6
    columns: dict[str, dict[str, Any]] = {ID_COLUMN[0]: dict(ID_COLUMN[1])}
    if with_time:
        columns[TIME_COLUMN[0]] = dict(TIME_COLUMN[1])
    for name in numeric:
        columns[name] = dict(NUMERIC[name])
    for name in categorical:
        columns[name] = dict(CATEGORICAL[name])
    if sensitive:
        columns[sensitive] = dict(SENSITIVE[sensitive])
    columns[target] = dict(target_schema)
    if task == "classification":
        split: dict[str, Any] = {"method": "stratified", "test_size": rng.choice([0.2, 0.25, 0.3])}
    elif with_time and rng.random() < 0.5:
        split = {"method": "time", "test_size": 0.2, "time_column": TIME_COLUMN[0]}
    else:
        split = {"method": "random", "test_size": rng.choice([0.2, 0.25])}
    if rng.random() < 0.3:
        split["seed"] = rng.randint(1, 9999)
    checks: dict[str, Any] = {
        "duplicates": {"subset": [ID_COLUMN[0]]},
        "max_missing_fraction": rng.choice([0.01, 0.02, 0.05, 0.1]),
        "rows": {"min": rng.choice([50, 100, 150])},
    }
    source: dict[str, Any] = {"path": "data/shared.csv"}
    if rng.random() < 0.3:
        source["format"] = "csv"
    dataset = envelope(
        "Dataset",
        base,
        {"source": source, "target": target, "columns": columns, "checks": checks, "split": split},
        description=f"{problem.replace('-', ' ').capitalize()} examples for model {index}, one row per customer.",
        owner="data-eng@example.com",
    )

    # ---- FeatureSet: numeric groups with varied recipes, an encoder for categoricals, and a
    # drop for the id, the timestamp and the sensitive attribute.
    transforms: list[dict[str, Any]] = []
    pool = list(numeric)
    rng.shuffle(pool)
    groups = rng.randint(1, min(3, len(pool)))
    cuts = sorted(rng.sample(range(1, len(pool)), groups - 1)) if groups > 1 else []
    for chunk in (pool[a:b] for a, b in zip([0, *cuts], [*cuts, len(pool)], strict=True)):
        impute = {"impute": {"strategy": rng.choice(["median", "mean"])}}
        method = rng.choice(["standard", "minmax", "robust", "maxabs"])
        # `- scale` (a bare step means its defaults) as people write it, or a mapping.
        scale: Any = (
            "scale"
            if method == "standard" and rng.random() < 0.5
            else {"scale": {"method": method}}
        )
        recipe = rng.choice(["impute-scale", "log", "clip", "bin", "poly", "scale"])
        if recipe == "impute-scale":
            steps = [impute, scale]
        elif recipe == "log":
            steps = [impute, {"log": {"offset": 1.0}}, scale]
        elif recipe == "clip":
            steps = [impute, {"clip": {"min": 0, "max": rng.choice([100, 1000, 10000])}}, scale]
        elif recipe == "bin":
            steps = [
                impute,
                {
                    "bin": {
                        "n_bins": rng.choice([4, 5, 10]),
                        "strategy": rng.choice(["quantile", "uniform"]),
                    }
                },
            ]
        elif recipe == "poly":
            steps = [
                impute,
                {"polynomial": {"degree": 2, "interaction_only": rng.random() < 0.5}},
                scale,
            ]
        else:
            steps = [scale]
        transforms.append({"columns": sorted(chunk), "steps": steps})
    encoder = rng.choice(["onehot", "onehot-frequent", "ordinal", "constant"])
    if encoder == "onehot":
        steps = [
            {"impute": {"strategy": "most_frequent"}},
            {"onehot": {"handle_unknown": "ignore"}},
        ]
    elif encoder == "onehot-frequent":
        steps = [
            {"impute": {"strategy": "most_frequent"}},
            {"onehot": {"handle_unknown": "infrequent_if_exist", "min_frequency": 0.01}},
        ]
    elif encoder == "constant":
        steps = [
            {"impute": {"strategy": "constant", "fill_value": "missing"}},
            {"onehot": {"handle_unknown": "ignore", "max_categories": 10}},
        ]
    else:
        ordered = [c for c in categorical if "allowed" in CATEGORICAL[c]]
        ordinal: dict[str, Any] = {"handle_unknown": "use_encoded_value", "unknown_value": -1}
        if ordered and len(ordered) == len(categorical):  # all or none (E209)
            ordinal["categories"] = {c: list(CATEGORICAL[c]["allowed"]) for c in ordered}
        steps = [{"impute": {"strategy": "most_frequent"}}, {"ordinal": ordinal}]
    transforms.append({"columns": sorted(categorical), "steps": steps})
    dropped = (
        [ID_COLUMN[0]]
        + ([TIME_COLUMN[0]] if with_time else [])
        + ([sensitive] if sensitive else [])
    )
    transforms.append({"columns": dropped, "drop": True})
    fs_spec: dict[str, Any] = {"dataset": base, "transforms": transforms}
    if rng.random() < 0.2:
        fs_spec["remainder"] = "passthrough"  # every column is claimed, so nothing slips through
    features = envelope("FeatureSet", f"{base}-features", fs_spec)

    # ---- Training: an allowlisted estimator of the right task, parameters, maybe tuning.
    name = rng.choice(sorted(n for n, e in ESTIMATORS.items() if e[0] == task))
    _, short, choices = ESTIMATORS[name]
    params_names = sorted(choices)
    rng.shuffle(params_names)
    fixed = params_names[: rng.randint(1, min(3, len(params_names)))]
    tuned = [p for p in params_names if p not in fixed][:2]
    estimator: dict[str, Any] = {
        "class": name if rng.random() < 0.8 else f"sklearn.{_module(name)}.{name}"
    }
    estimator["params"] = {p: _value(rng, choices[p]) for p in sorted(fixed)}
    if task == "classification":
        metrics = rng.sample(CLASSIFICATION_METRICS, rng.randint(2, 5))
        if name in PROBA and rng.random() < 0.5:
            metrics.append("log_loss")
    else:
        metrics = rng.sample(REGRESSION_METRICS, rng.randint(2, 4))
    training_spec: dict[str, Any] = {"features": f"{base}-features", "estimator": estimator}
    if rng.random() < 0.2:
        training_spec["dataset"] = base
    space: dict[str, Any] = {}
    strategy = rng.choice(["grid", "random", "halving"])
    for p in tuned:
        value = _space(rng, choices[p], strategy)
        if value is not None:
            space[p] = value
    if space and rng.random() < 0.75:
        tuning: dict[str, Any] = {
            "strategy": strategy,
            "space": space,
            "cv": rng.choice([3, 5]),
            "scoring": metrics[0],
        }
        if strategy == "grid":
            candidates = 1
            for v in space.values():
                candidates *= len(v)
            tuning["budget"] = {"n_iter": candidates + rng.randint(0, 10), "n_jobs": 2}
        elif strategy == "random":
            tuning["budget"] = {"n_iter": rng.choice([8, 12, 20, 30])}
        else:
            tuning["budget"] = {"n_iter": rng.choice([16, 32]), "factor": rng.choice([2, 3])}
        training_spec["tuning"] = tuning
    training_spec["metrics"] = metrics
    if rng.random() < 0.3:
        training_spec["seed"] = rng.randint(0, 2**16)
    training = envelope(
        "Training",
        f"{base}-{short}",
        training_spec,
        description=f"{name} on the {problem} features.",
    )

    # ---- Model: export, gates whose bounds point the right way, registry, card.
    gates: dict[str, Any] = {"metrics": {}}
    for metric in rng.sample(metrics, min(len(metrics), rng.randint(1, 3))):
        if metric in HIGHER_IS_BETTER:
            gates["metrics"][metric] = {"min": round(rng.uniform(0.55, 0.8), 2)}
        elif metric == "log_loss":
            gates["metrics"][metric] = {"max": round(rng.uniform(0.4, 0.7), 2)}
        elif metric == "mape":
            gates["metrics"][metric] = {"max": round(rng.uniform(0.1, 0.4), 2)}
        else:
            gates["metrics"][metric] = {"max": float(rng.choice([25, 50, 100, 250]))}
    stages = rng.choice([["staging", "production"], ["dev", "staging", "production"]])
    if rng.random() < 0.6:
        gates["no_regression"] = {
            "stage": "production",
            "metric": metrics[0],
            "tolerance": rng.choice([0.0, 0.005, 0.01]),
        }
    if sensitive:
        if rng.random() < 0.5:
            gates["fairness"] = {
                "sensitive_features": [sensitive],
                "metric": "demographic_parity_difference",
                "max": rng.choice([0.05, 0.1, 0.15]),
                "min_group_size": 30,
            }
        else:
            gates["fairness"] = {
                "sensitive_features": [sensitive],
                "metric": "equalized_odds_ratio",
                "min": 0.8,
                "min_group_size": 50,
            }
    gates["interpretability"] = {
        "permutation_importance": True,
        "n_repeats": rng.choice([3, 5, 10]),
    }
    gates["security"] = {"max_size_mb": float(rng.choice([10, 20, 50, 100]))}
    model_spec: dict[str, Any] = {
        "training": f"{base}-{short}",
        "export": {
            "opset": rng.choice([15, 16, 17]),
            "parity": {"max_abs_diff": rng.choice([0.0001, 0.001]), "min_label_agreement": 0.999},
        },
        "gates": gates,
        "registry": {"bump": rng.choice(["auto", "minor"]), "stages": stages},
        "card": {
            "intended_use": f"Score {problem.replace('-', ' ')} for {team} dashboards and campaigns.",
            "limitations": ["Trained on synthetic benchmark data."],
        },
    }
    if sensitive:
        model_spec["card"]["ethical_considerations"] = [
            f"{sensitive} is excluded from the inputs and checked by a fairness gate."
        ]
    model = envelope(
        "Model",
        base,
        model_spec,
        owner=owner,
        description=f"Predicts '{target}' ({task}) for {team}.",
        labels={"team": team, "task": task},
    )

    # ---- Deployment: local (unique port), kserve or triton.
    target_kind = rng.choice(["local", "local", "kserve", "triton"])
    if targets and target_kind not in targets:
        # Restricted targets (--targets): the same random draws, so the other documents are
        # those of an unrestricted run up to this point; the target cycles through the allowed.
        target_kind = targets[index % len(targets)]
    port = 0
    dep_spec: dict[str, Any] = {"model": base}
    if rng.random() < 0.5:
        dep_spec["version"] = "latest-passing"
    else:
        dep_spec["stage"] = rng.choice(stages)
    if target_kind == "local":
        port = 9000 + index
        dep_spec["target"] = "local"
        dep_spec["local"] = {"port": port}
        suffix = "local"
    elif target_kind == "kserve":
        lo = rng.choice([1, 2])
        dep_spec.update(
            {
                "target": "kserve",
                "protocol": "v2",
                "namespace": team,
                "replicas": {"min": lo, "max": lo + rng.choice([1, 3, 5])},
                "autoscaling": {
                    "metric": rng.choice(["concurrency", "rps", "cpu"]),
                    "target": rng.choice([10, 20, 50]),
                },
                "resources": {
                    "requests": {"cpu": "500m", "memory": "512Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
                "canary": {"traffic_percent": rng.choice([5, 10, 25])},
                "environments": ["prod"],
                "prevent_destroy": True,
            }
        )
        suffix = "prod"
    else:
        dep_spec.update(
            {
                "target": "triton",
                "protocol": "v2",
                "output_dir": f"deploy/triton/{base}",
                "environments": rng.choice([["staging"], ["staging", "prod"]]),
            }
        )
        suffix = "triton"
    if rng.random() < 0.3:
        dep_spec["env"] = {"LOG_LEVEL": rng.choice(["info", "debug"]), "OMP_NUM_THREADS": "1"}
    deployment = envelope("Deployment", f"{base}-{suffix}", dep_spec)

    docs = {
        "dataset": dataset,
        "features": features,
        "training": training,
        "model": model,
        "deployment": deployment,
    }
    return base, docs, port


def _module(name: str) -> str:
    for module, names in (
        (
            "linear_model",
            (
                "LogisticRegression",
                "SGDClassifier",
                "LinearRegression",
                "Ridge",
                "Lasso",
                "ElasticNet",
                "SGDRegressor",
                "BayesianRidge",
                "PoissonRegressor",
            ),
        ),
        ("svm", ("LinearSVC", "SVC", "LinearSVR", "SVR")),
        ("tree", ("DecisionTreeClassifier", "DecisionTreeRegressor")),
        ("neighbors", ("KNeighborsClassifier", "KNeighborsRegressor")),
        ("neural_network", ("MLPClassifier", "MLPRegressor")),
        ("naive_bayes", ("GaussianNB", "BernoulliNB")),
    ):
        if name in names:
            return module
    return "ensemble"


def project(models: int) -> dict[str, Any]:
    return envelope(
        "Project",
        f"bench-{models}-models",
        {
            "specs": ["ml"],
            "artifacts": "artifacts",
            "remote": {"name": "storage", "url": "s3://example-ml-artifacts/bench"},
            "environments": {
                "staging": {"description": "Pre-production cluster."},
                "prod": {"prevent_destroy": True},
            },
            "defaults": {"seed": 42, "onnx_opset": 17, "target": "local"},
        },
        description=f"Generated by benchmarks/gen_repo.py: {models} models, {5 * models} spec documents.",
        owner="ml-platform@example.com",
    )


def shared_csv(rng: random.Random) -> str:
    """Rows that respect every column schema above (so the data checks would pass too)."""
    names = [
        ID_COLUMN[0],
        TIME_COLUMN[0],
        *NUMERIC,
        *CATEGORICAL,
        *SENSITIVE,
        *(t for _, t, _ in PROBLEMS.values()),
    ]
    lines = [",".join(names)]
    for row in range(CSV_ROWS):
        values: list[str] = [
            f"R{4200000 + row:07d}",
            f"2024-{1 + row % 12:02d}-{1 + row % 28:02d}T{row % 24:02d}:15:00",
        ]
        for schema in NUMERIC.values():
            if schema.get("nullable") and rng.random() < 0.03:
                values.append("")
            elif schema["dtype"] == "bool":
                values.append(rng.choice(["true", "false"]))
            elif schema["dtype"] == "int":
                values.append(
                    str(rng.randint(int(schema.get("min", 0)), int(schema.get("max", 500))))
                )
            else:
                low, high = schema.get("min", -5000.0), schema.get("max", 100000.0)
                values.append(f"{rng.uniform(low, high):.2f}")
        for schema in CATEGORICAL.values():
            values.append(rng.choice(schema.get("allowed", ["card", "paypal", "invoice", ""])))
        for schema in SENSITIVE.values():
            values.append(rng.choice(schema["allowed"]))
        for _, _, schema in PROBLEMS.values():
            values.append(
                str(rng.randint(0, 1))
                if schema["dtype"] == "int"
                else f"{rng.uniform(0, 5000):.2f}"
            )
        lines.append(",".join(values))
    return "\n".join(lines) + "\n"


def generate(models: int, out: Path, seed: int = 0, targets: tuple[str, ...] = ()) -> list[Path]:
    """Write the repository; return every spec file written (mlform.yaml first)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(f"models={models} seed={seed} targets={','.join(targets) or 'all'}\n")
    written = [out / "mlform.yaml"]
    written[0].write_text(to_yaml(project(models)))
    (out / "data").mkdir(exist_ok=True)
    (out / "data" / "shared.csv").write_text(shared_csv(random.Random(seed + 1)))
    for index in range(1, models + 1):
        base, docs, _ = make_model(rng, index, targets)
        folder = out / "ml" / base
        folder.mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            path = folder / f"{kind}.yaml"
            path.write_text(to_yaml(docs[kind]))
            written.append(path)
    return written


def spec_files(out: Path) -> list[Path]:
    """The spec files of a generated repository, in a stable order (mlform.yaml first)."""
    return [out / "mlform.yaml", *sorted((out / "ml").glob("*/*.yaml"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models", type=int, default=200, help="models to generate (5 documents each)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output folder (replaced if generated before)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--targets",
        default="",
        help="deployment targets to use, comma-separated from local, kserve, triton "
        "(default: all three, local for about half the models)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace OUT even if it was not generated by this script",
    )
    args = parser.parse_args(argv)
    if args.models < 1:
        parser.error("--models must be at least 1")
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if any(t not in ("local", "kserve", "triton") for t in targets):
        parser.error(f"--targets: choose from local, kserve, triton (got {args.targets})")
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists() and not args.force:
            parser.error(f"{out} is not empty and was not generated by this script; use --force")
        shutil.rmtree(out)
    files = generate(args.models, out, args.seed, targets)
    print(
        f"wrote {len(files)} spec files ({5 * args.models} documents + mlform.yaml) and data/shared.csv to {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
