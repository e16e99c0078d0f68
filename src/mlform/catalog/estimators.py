"""The estimators a Training may name: scikit-learn classes that skl2onnx converts to ONNX.

A spec names an estimator by class name (``HistGradientBoostingClassifier``) or by its public
path (``sklearn.ensemble.HistGradientBoostingClassifier``); nothing outside this table is ever
imported. Parameter names live in ``_estimator_params.py``, generated from scikit-learn by
``python -m mlform.catalog.estimators`` so that ``mlform validate`` never imports scikit-learn;
a test fails when the table and the installed scikit-learn disagree.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from typing import Literal

from mlform.catalog._estimator_params import PARAMS, PREDICT_PROBA

Task = Literal["classification", "regression"]

# class name → (public module, task)
_ALLOWED: dict[str, tuple[str, Task]] = {
    "LogisticRegression": ("sklearn.linear_model", "classification"),
    "SGDClassifier": ("sklearn.linear_model", "classification"),
    "LinearSVC": ("sklearn.svm", "classification"),
    "SVC": ("sklearn.svm", "classification"),
    "DecisionTreeClassifier": ("sklearn.tree", "classification"),
    "RandomForestClassifier": ("sklearn.ensemble", "classification"),
    "ExtraTreesClassifier": ("sklearn.ensemble", "classification"),
    "GradientBoostingClassifier": ("sklearn.ensemble", "classification"),
    "HistGradientBoostingClassifier": ("sklearn.ensemble", "classification"),
    "AdaBoostClassifier": ("sklearn.ensemble", "classification"),
    "KNeighborsClassifier": ("sklearn.neighbors", "classification"),
    "MLPClassifier": ("sklearn.neural_network", "classification"),
    "GaussianNB": ("sklearn.naive_bayes", "classification"),
    "BernoulliNB": ("sklearn.naive_bayes", "classification"),
    "LinearRegression": ("sklearn.linear_model", "regression"),
    "Ridge": ("sklearn.linear_model", "regression"),
    "Lasso": ("sklearn.linear_model", "regression"),
    "ElasticNet": ("sklearn.linear_model", "regression"),
    "SGDRegressor": ("sklearn.linear_model", "regression"),
    "BayesianRidge": ("sklearn.linear_model", "regression"),
    "PoissonRegressor": ("sklearn.linear_model", "regression"),
    "LinearSVR": ("sklearn.svm", "regression"),
    "SVR": ("sklearn.svm", "regression"),
    "DecisionTreeRegressor": ("sklearn.tree", "regression"),
    "RandomForestRegressor": ("sklearn.ensemble", "regression"),
    "ExtraTreesRegressor": ("sklearn.ensemble", "regression"),
    "GradientBoostingRegressor": ("sklearn.ensemble", "regression"),
    "HistGradientBoostingRegressor": ("sklearn.ensemble", "regression"),
    "AdaBoostRegressor": ("sklearn.ensemble", "regression"),
    "KNeighborsRegressor": ("sklearn.neighbors", "regression"),
    "MLPRegressor": ("sklearn.neural_network", "regression"),
}

# Parameters whose values are Python objects (nested estimators, callables): a YAML spec
# cannot and must not supply them.
OBJECT_PARAMS = frozenset({"estimator", "base_estimator", "kernel_callable", "callbacks"})

# Names users carry over from other libraries, mapped per estimator family to ours.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "n_estimators": ("max_iter",),
    "num_iterations": ("max_iter", "n_estimators"),
    "num_boost_round": ("max_iter", "n_estimators"),
    "eta": ("learning_rate",),
    "lr": ("learning_rate", "learning_rate_init"),
    "lambda": ("l2_regularization", "alpha"),
    "reg_lambda": ("l2_regularization", "alpha"),
    "num_leaves": ("max_leaf_nodes",),
    "min_child_samples": ("min_samples_leaf",),
    "seed": ("random_state",),
    "n_neighbours": ("n_neighbors",),
    "epochs": ("max_iter",),
}


@dataclass(frozen=True)
class EstimatorInfo:
    name: str
    module: str
    task: Task
    params: tuple[str, ...]
    predict_proba: bool

    @property
    def path(self) -> str:
        return f"{self.module}.{self.name}"


def names() -> list[str]:
    return sorted(_ALLOWED)


def references() -> list[str]:
    """Every way a spec may name an allowed estimator (for the JSON Schema's enum)."""
    return [*names(), *(f"{_ALLOWED[n][0]}.{n}" for n in names())]


def lookup(reference: str) -> EstimatorInfo | None:
    """The allowlisted estimator a spec names, by class name or public path; else None."""
    name = reference.rsplit(".", 1)[-1]
    if name not in _ALLOWED:
        return None
    module, task = _ALLOWED[name]
    if "." in reference and reference != f"{module}.{name}":
        return None
    params = tuple(p for p in PARAMS[name] if p not in OBJECT_PARAMS)
    return EstimatorInfo(name, module, task, params, PREDICT_PROBA[name])


def suggest(word: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The closest candidate, by spelling, or by a (possibly misspelled) synonym from
    another library: ``n_estimatrs`` → ``n_estimators`` → ``max_iter``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if close:
        return close[0]
    for known in difflib.get_close_matches(word, list(_SYNONYMS), n=1, cutoff=0.8):
        for synonym in _SYNONYMS[known]:
            if synonym in candidates:
                return synonym
    return None


# Estimators of other libraries, mapped to the closest scikit-learn one we allow.
_FOREIGN = {
    "XGBClassifier": "HistGradientBoostingClassifier",
    "XGBRegressor": "HistGradientBoostingRegressor",
    "LGBMClassifier": "HistGradientBoostingClassifier",
    "LGBMRegressor": "HistGradientBoostingRegressor",
    "CatBoostClassifier": "HistGradientBoostingClassifier",
    "CatBoostRegressor": "HistGradientBoostingRegressor",
}


def suggest_estimator(reference: str) -> str | None:
    name = reference.rsplit(".", 1)[-1]
    return _FOREIGN.get(name) or suggest(name, names())


def introspect() -> tuple[dict[str, tuple[str, ...]], dict[str, bool]]:
    """Parameter names and predict_proba support, read from the installed scikit-learn."""
    import importlib

    params: dict[str, tuple[str, ...]] = {}
    proba: dict[str, bool] = {}
    for name, (module, _task) in sorted(_ALLOWED.items()):
        cls = getattr(importlib.import_module(module), name)
        params[name] = tuple(sorted(cls().get_params(deep=False)))
        proba[name] = hasattr(cls, "predict_proba")
    return params, proba


def render_table() -> str:
    params, proba = introspect()
    lines = [
        '"""Generated by `python -m mlform.catalog.estimators` from scikit-learn; do not edit."""',
        "",
        "PARAMS: dict[str, tuple[str, ...]] = {",
    ]
    for name, names_ in params.items():
        lines.append(f"    {name!r}: (")
        lines.extend(f"        {p!r}," for p in names_)
        lines.append("    ),")
    lines += ["}", "", "PREDICT_PROBA: dict[str, bool] = {"]
    lines.extend(f"    {name!r}: {value!r}," for name, value in proba.items())
    lines += ["}", ""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    sys.stdout.write(render_table())
