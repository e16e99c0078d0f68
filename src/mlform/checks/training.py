"""Trainings name allowed estimators with real parameters; models gate on metrics that fit."""

from __future__ import annotations

import math
from collections.abc import Mapping

from mlform.catalog.estimators import (
    OBJECT_PARAMS,
    EstimatorInfo,
    lookup,
    suggest,
    suggest_estimator,
)
from mlform.catalog.metrics import METRICS
from mlform.checks.context import Context
from mlform.checks.data import model_inputs
from mlform.loader import Loc
from mlform.schema_errors import suggestion
from mlform.spec import Dataset, FeatureSet, Model, Training
from mlform.spec.training import Distribution
from mlform.workspace import SpecDocument


def check_trainings(ctx: Context) -> None:
    for doc, training in ctx.docs(Training):
        spec = training.spec
        features = ctx.get(FeatureSet, spec.features)
        if spec.dataset and features and features.spec.dataset != spec.dataset:
            ctx.report(
                doc,
                ("spec", "dataset"),
                "E205",
                f"Dataset '{spec.dataset}' differs from FeatureSet '{spec.features}''s "
                f"dataset '{features.spec.dataset}'",
            )
        info = lookup(spec.estimator.class_)
        if info is None:
            _report_estimator(ctx, doc, spec.estimator.class_)
            continue
        _check_params(ctx, doc, info, spec.estimator.params, ("spec", "estimator", "params"))
        for i, metric in enumerate(spec.metrics or []):
            _check_metric(ctx, doc, ("spec", "metrics", i), metric, info)
        if spec.tuning:
            _check_tuning(ctx, doc, training, info)
        dataset = ctx.dataset_of_training(training)
        if dataset:
            _check_target(ctx, doc, dataset, info)


def _report_estimator(ctx: Context, doc: SpecDocument, reference: str) -> None:
    hint = suggest_estimator(reference)
    did_you_mean = f" — did you mean '{hint}'?" if hint else ""
    ctx.report(
        doc,
        ("spec", "estimator", "class"),
        "E108",
        f"'{reference}' is not an allowed estimator{did_you_mean} "
        "(`mlform schema estimators` lists the scikit-learn estimators that convert to ONNX)",
    )


def _check_params(
    ctx: Context, doc: SpecDocument, info: EstimatorInfo, params: Mapping[str, object], loc: Loc
) -> None:
    for name in params:
        if name in OBJECT_PARAMS:
            ctx.report(
                doc,
                (*loc, name),
                "E108",
                f"parameter '{name}' of {info.name} takes a Python object, which a spec cannot give",
                at_key=True,
                field_path=loc,
            )
        elif name not in info.params:
            hint = suggest(name, info.params)
            did_you_mean = f" — did you mean '{hint}'?" if hint else ""
            ctx.report(
                doc,
                (*loc, name),
                "E104",
                f"unknown parameter '{name}' for {info.name}{did_you_mean}",
                at_key=True,
                field_path=loc,
            )
        elif name == "random_state":
            ctx.report(
                doc,
                (*loc, name),
                "W004",
                "set spec.seed instead of random_state: the seed also drives the split and the search",
                at_key=True,
                field_path=loc,
            )


def _check_metric(
    ctx: Context, doc: SpecDocument, loc: Loc, metric: str, info: EstimatorInfo
) -> None:
    meta = METRICS[metric]
    if meta.task != info.task:
        ctx.report(
            doc, loc, "E211", f"{metric} is a {meta.task} metric, but {info.name} does {info.task}"
        )
    elif metric == "log_loss" and not info.predict_proba:
        ctx.report(
            doc,
            loc,
            "E211",
            f"log_loss needs predicted probabilities, which {info.name} does not give",
        )


def _check_tuning(ctx: Context, doc: SpecDocument, training: Training, info: EstimatorInfo) -> None:
    tuning = training.spec.tuning
    assert tuning is not None
    loc: Loc = ("spec", "tuning", "space")
    _check_params(ctx, doc, info, dict(tuning.space), loc)
    if tuning.scoring:
        _check_metric(ctx, doc, ("spec", "tuning", "scoring"), tuning.scoring, info)
    ranges = [name for name, value in tuning.space.items() if isinstance(value, Distribution)]
    if tuning.strategy == "grid":
        for name in ranges:
            ctx.report(
                doc,
                (*loc, name),
                "E212",
                "grid search needs a list of values, not a range; use strategy: random or halving",
            )
        sizes = [len(v) for v in tuning.space.values() if isinstance(v, list)]
        candidates = math.prod(sizes)
        limit = tuning.budget.n_iter
        if not ranges and limit is not None and candidates > limit:
            ctx.report(
                doc,
                ("spec", "tuning", "budget", "n_iter"),
                "E212",
                f"the grid has {candidates} candidates, over the budget of {limit}",
            )


def _check_target(ctx: Context, doc: SpecDocument, dataset: Dataset, info: EstimatorInfo) -> None:
    target = dataset.spec.columns.get(dataset.spec.target)
    if target is None:
        return
    if info.task == "regression" and target.dtype not in ("int", "float"):
        ctx.report(
            doc,
            ("spec", "estimator", "class"),
            "E209",
            f"{info.name} predicts numbers, but target '{dataset.spec.target}' is {target.dtype}",
        )
    if info.task == "regression" and dataset.spec.split.method == "stratified":
        ctx.report(
            doc,
            ("spec", "estimator", "class"),
            "W006",
            f"Dataset '{dataset.metadata.name}' uses a stratified split, which needs class labels; {info.name} is a regressor",
        )
    if info.task == "classification" and target.dtype == "float":
        ctx.report(
            doc,
            ("spec", "estimator", "class"),
            "W007",
            f"target '{dataset.spec.target}' is float; {info.name} will treat every distinct value as a class",
        )


def check_models(ctx: Context) -> None:
    for doc, model in ctx.docs(Model):
        training = ctx.training_of_model(model)
        info = ctx.estimator_of(training)
        gates = model.spec.gates
        if info is not None:
            for metric, bounds in gates.metrics.items():
                loc: Loc = ("spec", "gates", "metrics", metric)
                _check_metric(ctx, doc, loc, metric, info)
                meta = METRICS[metric]
                if meta.higher_is_better and bounds.max is not None and bounds.min is None:
                    ctx.report(
                        doc,
                        loc,
                        "W008",
                        f"only a max on {metric}, where higher is better; did you mean min?",
                    )
                if not meta.higher_is_better and bounds.min is not None and bounds.max is None:
                    ctx.report(
                        doc,
                        loc,
                        "W008",
                        f"only a min on {metric}, where lower is better; did you mean max?",
                    )
            if gates.no_regression and gates.no_regression.metric:
                _check_metric(
                    ctx,
                    doc,
                    ("spec", "gates", "no_regression", "metric"),
                    gates.no_regression.metric,
                    info,
                )
        if gates.no_regression and gates.no_regression.stage not in model.spec.registry.stages:
            stages = model.spec.registry.stages
            ctx.report(
                doc,
                ("spec", "gates", "no_regression", "stage"),
                "E202",
                f"stage '{gates.no_regression.stage}' is not one of the registry's stages: {', '.join(stages)}{suggestion(gates.no_regression.stage, stages)}",
            )
        if gates.fairness:
            _check_fairness(ctx, doc, model, training, info)


def check_fairness_bounds(
    ctx: Context,
    doc: SpecDocument,
    loc: Loc,
    metric: str,
    low: float | None,
    high: float | None,
    what: str = "",
) -> None:
    """A fairness metric's bound: ``max`` for *_difference, ``min`` for *_ratio, in 0–1 (the
    Model's gate and a Monitor's production fairness). ``what`` says where a missing bound
    could have come from."""
    is_ratio = metric.endswith("_ratio")
    bound, other = ("min", "max") if is_ratio else ("max", "min")
    given = {"min": low, "max": high}
    if given[bound] is None:
        ctx.report(
            doc,
            loc,
            "E213",
            f"{metric} needs a '{bound}' bound ({'e.g. min: 0.8, the four-fifths rule' if is_ratio else 'e.g. max: 0.1'}){what}",
        )
    if given[other] is not None:
        ctx.report(
            doc,
            (*loc, other),
            "E213",
            f"'{other}' does not apply to {metric}; use '{bound}'",
        )
    for key in ("min", "max"):
        value = given[key]
        if value is not None and not 0 <= value <= 1:
            ctx.report(
                doc,
                (*loc, key),
                "E208",
                f"{metric} lies between 0 and 1; {value:g} is out of range",
            )


def _check_fairness(
    ctx: Context,
    doc: SpecDocument,
    model: Model,
    training: Training | None,
    info: EstimatorInfo | None,
) -> None:
    fairness = model.spec.gates.fairness
    assert fairness is not None
    loc: Loc = ("spec", "gates", "fairness")
    if info is not None and info.task == "regression":
        ctx.report(
            doc,
            loc,
            "W301",
            f"a fairness gate on a regression model: {fairness.metric} is defined for classifiers, so the gate cannot be evaluated",
        )
    check_fairness_bounds(ctx, doc, loc, fairness.metric, fairness.min, fairness.max)
    dataset = ctx.dataset_of_training(training) if training else None
    if dataset is None:
        return
    features = ctx.get(FeatureSet, training.spec.features) if training else None
    inputs = model_inputs(features, dataset) if features else []
    for i, column in enumerate(fairness.sensitive_features):
        where: Loc = (*loc, "sensitive_features", i)
        if column not in dataset.spec.columns:
            hint = suggestion(column, list(dataset.spec.columns))
            ctx.report(
                doc,
                where,
                "E205",
                f"sensitive feature '{column}' is not a column of Dataset '{dataset.metadata.name}'{hint}",
            )
        elif column == dataset.spec.target:
            ctx.report(doc, where, "E206", f"'{column}' is the target, not a sensitive feature")
        elif column in inputs:
            ctx.report(
                doc,
                where,
                "W302",
                f"sensitive feature '{column}' is also a model input; drop it from the FeatureSet unless that is intended",
            )
