"""`mlform stage train TRAINING`: the FeatureSet's ColumnTransformer and the estimator as one
scikit-learn pipeline, tuned over the declared space; the chosen parameters and CV results."""

from __future__ import annotations

import importlib
import re
import warnings
from typing import Any

from mlform import stage_params as P
from mlform.catalog.estimators import lookup
from mlform.runtime.errors import StageFailed

PREFIX = "estimator__"


def build_estimator(training: P.TrainingParams, name: str) -> Any:
    """The allowlisted estimator with the spec's params (and the seed as random_state)."""
    info = lookup(training.estimator)
    if info is None:  # params.yaml edited by hand
        raise StageFailed(
            "E108",
            "Training",
            name,
            ("spec", "estimator", "class"),
            f"'{training.estimator}' is not an allowed estimator",
        )
    cls = getattr(importlib.import_module(info.module), info.name)
    params = dict(training.params)
    if "random_state" in info.params and "random_state" not in params:
        params["random_state"] = training.seed
    unknown = [p for p in params if p not in info.params]
    if unknown:
        raise StageFailed(
            "E104",
            "Training",
            name,
            ("spec", "estimator", "params"),
            f"unknown parameter '{unknown[0]}' for {info.name}",
        )
    return cls(**params)


def build_pipeline(
    training: P.TrainingParams,
    featureset: P.FeatureSetParams,
    dataset: P.DatasetParams,
    inputs: list[str],
    name: str,
) -> Any:
    from sklearn.pipeline import Pipeline

    from mlform.runtime.features import build_column_transformer
    from mlform.runtime.frames import dtypes
    from mlform.runtime.transformers import float32

    # Casting to float32 before the estimator makes scikit-learn see what ONNX sees, so
    # tree thresholds agree and the exported model matches the trained one.
    return Pipeline(
        [
            (
                "features",
                build_column_transformer(featureset, dtypes(dataset), inputs, training.features),
            ),
            ("cast", float32()),
            ("estimator", build_estimator(training, name)),
        ]
    )


def search_space(space: dict[str, list[Any] | P.Distribution]) -> dict[str, Any]:
    import numpy as np
    from scipy import stats

    out: dict[str, Any] = {}
    for param, value in space.items():
        if isinstance(value, list):
            out[PREFIX + param] = [tuple(v) if isinstance(v, list) else v for v in value]
        elif value.type == "int":
            low, high = int(value.low), int(value.high)
            if value.log:
                out[PREFIX + param] = sorted(
                    {int(v) for v in np.round(np.geomspace(max(low, 1), high, 64))}
                )
            else:
                out[PREFIX + param] = stats.randint(low, high + 1)
        elif value.log:
            out[PREFIX + param] = stats.loguniform(value.low, value.high)
        else:
            out[PREFIX + param] = stats.uniform(value.low, value.high - value.low)
    return out


def make_search(pipeline: Any, training: P.TrainingParams, tuning: P.Tuning) -> Any:
    from sklearn import model_selection as ms

    seed = training.seed
    space = search_space(tuning.space)
    folds = (ms.StratifiedKFold if training.task == "classification" else ms.KFold)(
        tuning.cv, shuffle=True, random_state=seed
    )
    budget = tuning.budget
    common = {
        "scoring": tuning.scorer,
        "cv": folds,
        "n_jobs": budget.n_jobs,
        "error_score": "raise",
        "refit": False,
    }
    ranges = any(not isinstance(v, list) for v in tuning.space.values())
    if tuning.strategy == "grid":
        return ms.GridSearchCV(pipeline, space, **common)
    if tuning.strategy == "random":
        return ms.RandomizedSearchCV(
            pipeline, space, n_iter=budget.n_iter or 10, random_state=seed, **common
        )
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401

    halving = {"factor": budget.factor, "random_state": seed, **common}
    if ranges:
        return ms.HalvingRandomSearchCV(
            pipeline, space, n_candidates=budget.n_iter or "exhaust", **halving
        )
    return ms.HalvingGridSearchCV(pipeline, space, **halving)


_PARAM_IN_MESSAGE = re.compile(r"The '(\w+)' parameter")


def rejected(exc: Exception, training: P.TrainingParams, name: str) -> StageFailed:
    """Where in the spec the value an estimator rejected came from."""
    match = _PARAM_IN_MESSAGE.search(str(exc))
    param = match.group(1) if match else None
    space = training.tuning.space if training.tuning else {}
    loc: tuple[str | int, ...] = ("spec", "estimator")
    if param is not None and param in space:
        loc = ("spec", "tuning", "space", param)
    elif param is not None and param in training.params:
        loc = ("spec", "estimator", "params", param)
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StageFailed(
        "E304",
        "Training",
        name,
        loc,
        f"{training.estimator.rsplit('.', 1)[-1]} rejected the configuration: {first_line}",
    )


def fit(
    pipeline: Any, X: Any, y: Any, training: P.TrainingParams, name: str
) -> tuple[Any, dict[str, Any]]:
    """Tune (when declared) and fit; a model that does not converge fails the stage."""
    from threadpoolctl import threadpool_limits

    summary: dict[str, Any] = {"strategy": "none", "best_params": dict(training.params)}
    with threadpool_limits(limits=1):  # one thread per fit: the same bytes everywhere
        return _fit(pipeline, X, y, training, name, summary)


def _fit(
    pipeline: Any, X: Any, y: Any, training: P.TrainingParams, name: str, summary: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    try:
        if training.tuning:
            search = make_search(pipeline, training, training.tuning)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # judged on the final fit
                search.fit(X, y)
            best = {k.removeprefix(PREFIX): v for k, v in search.best_params_.items()}
            pipeline = clone(pipeline).set_params(**search.best_params_)
            summary = _tuning_summary(search, training.tuning, best)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(X, y)
    except (ValueError, TypeError) as exc:
        raise rejected(exc, training, name) from None
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            info = lookup(training.estimator)
            loc = (
                ("spec", "estimator", "params", "max_iter")
                if info and "max_iter" in info.params
                else ("spec", "estimator")
            )
            first_line = str(warning.message).splitlines()[0]
            raise StageFailed(
                "E305",
                "Training",
                name,
                loc,
                f"the model did not converge: {first_line} Raise max_iter, scale the features, or loosen tol.",
            )
    return pipeline, summary


def _tuning_summary(search: Any, tuning: P.Tuning, best: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    results = search.cv_results_
    order = np.argsort(results["rank_test_score"], kind="stable")[:10]
    sign = -1.0 if tuning.scorer.startswith("neg_") else 1.0
    top = [
        {
            "rank": int(results["rank_test_score"][i]),
            "mean_score": sign * float(results["mean_test_score"][i]),
            "std_score": float(results["std_test_score"][i]),
            "params": {k.removeprefix(PREFIX): _plain(v) for k, v in results["params"][i].items()},
        }
        for i in order
    ]
    return {
        "strategy": tuning.strategy,
        "scoring": tuning.scoring,
        "cv_folds": tuning.cv,
        "candidates": len(results["params"]),
        "best_score": sign * float(search.best_score_),
        "best_params": {k: _plain(v) for k, v in best.items()},
        "top": top,
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value
