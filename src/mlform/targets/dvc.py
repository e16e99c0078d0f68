"""The DVC pipeline: ``dvc.yaml`` (stages with exact deps, outs, params, metrics, plots) and
``params.yaml`` (every value a stage reads, so ``dvc exp run -S`` can change any of them).

Stage commands run ``mlform stage <step> <name>``, which reads only ``params.yaml``; a stage
re-runs exactly when its own params or input files change.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, TypeVar

from mlform import stage_params as P
from mlform.catalog.metrics import DEFAULT_METRICS, METRICS
from mlform.layout import CLASSIFICATION_PLOTS, REGRESSION_PLOTS, Layout
from mlform.project import ProjectGraph
from mlform.render import render, shell_join, shell_quote
from mlform.spec import Dataset, FeatureSet, Model, Training
from mlform.targets import RenderedFile

T = TypeVar("T")

PARAMS_FILE = "params.yaml"
DVC_FILE = "dvc.yaml"


def render_pipeline(graph: ProjectGraph) -> list[RenderedFile]:
    """``dvc.yaml`` and ``params.yaml``: beside mlform.yaml, or for an environment with a
    pipeline of its own, in pipelines/<env>/ (its stages run from the project root).

    One file at a time, each file's data let go once written: in a monorepo the stages
    and the params are each several times their text."""
    sources = _sources(graph)
    folder = graph.pipeline_dir
    stages, artifacts = build_stages(graph)
    pipeline = render(
        "dvc/dvc.yaml.j2",
        sources=sources,
        stages=stages,
        artifacts=artifacts,
    )
    del stages, artifacts
    params = render("dvc/params.yaml.j2", sources=sources, params=P.to_data(build_params(graph)))
    return [
        RenderedFile(str(folder / DVC_FILE), pipeline),
        RenderedFile(str(folder / PARAMS_FILE), params),
    ]


def _up(folder: PurePosixPath) -> str:
    """The project root, seen from ``folder``."""
    return "/".join([".."] * len(folder.parts)) or "."


def stage_address(graph: ProjectGraph, stage: str) -> str:
    """How DVC names a stage of this graph's pipeline: ``pipelines/prod/dvc.yaml:train-x``."""
    folder = graph.pipeline_dir
    return stage if folder == PurePosixPath(".") else f"{folder / DVC_FILE}:{stage}"


def _sources(graph: ProjectGraph) -> list[str]:
    kinds = ("Project", "Dataset", "FeatureSet", "Training", "Model")
    return sorted({d.source for d in graph.documents if d.kind in kinds})


# --- params.yaml ----------------------------------------------------------------------------
def build_params(graph: ProjectGraph) -> P.PipelineParams:
    folder = graph.pipeline_dir
    location = (
        None
        if folder == PurePosixPath(".")
        else P.Location(root=_up(folder), artifacts=str(graph.artifacts))
    )
    return P.PipelineParams(
        dataset={d.metadata.name: _dataset_params(graph, d) for d in graph.all(Dataset)},
        featureset={f.metadata.name: _featureset_params(f) for f in graph.all(FeatureSet)},
        training={t.metadata.name: _training_params(graph, t) for t in graph.all(Training)},
        model={m.metadata.name: _model_params(graph, m) for m in graph.all(Model)},
        location=location,
    )


def _as(cls: type[T], value: Any) -> T:
    """A spec value as the stage contract's class of the same fields."""
    return P.build(value.model_dump(mode="json", exclude_none=True), cls)


def _dataset_params(graph: ProjectGraph, dataset: Dataset) -> P.DatasetParams:
    from mlform.checks.paths import source_format

    spec = dataset.spec
    split = spec.split
    return P.DatasetParams(
        source=P.Source(
            spec.source.path,
            "parquet" if source_format(dataset) == "parquet" else "csv",  # validated: one of two
            spec.source.delimiter,
        ),
        target=spec.target,
        columns={
            name: P.Column(
                column.dtype,
                column.nullable,
                column.min,
                column.max,
                list(column.allowed) if column.allowed is not None else None,
                column.regex,
                column.unique,
            )
            for name, column in spec.columns.items()
        },
        checks=_as(P.Checks, spec.checks),
        split=P.Split(split.method, split.test_size, graph.seed(split.seed), split.time_column),
        cleaning=_cleaning_params(dataset),
    )


def _cleaning_params(dataset: Dataset) -> P.Cleaning | None:
    """The cleaning rules with their defaults resolved: which columns and constraints an
    ``outside_schema`` rule applies is written out, so params.yaml says what runs."""
    from mlform.spec.cleaning import BOUNDS, CONSTRAINTS

    spec = dataset.spec
    if spec.cleaning is None:
        return None
    rules = []
    for rule in spec.cleaning.rules:
        schema = rule.outside_schema
        if schema is None:
            rules.append(_as(P.Rule, rule))
            continue
        clip = schema.action == "clip"
        columns = schema.columns or [
            name
            for name, column in spec.columns.items()
            if not clip or column.min is not None or column.max is not None
        ]
        constraints = list(schema.constraints or (BOUNDS if clip else CONSTRAINTS))
        rules.append(P.Rule(outside_schema=P.OutsideSchema(schema.action, columns, constraints)))
    return P.Cleaning(rules, spec.cleaning.max_removed_fraction)


def _featureset_params(features: FeatureSet) -> P.FeatureSetParams:
    spec = features.spec
    transforms = [
        P.Transform(list(t.columns), drop=True)
        if t.drop
        else P.Transform(list(t.columns), steps=[_as(P.Step, step) for step in t.steps])
        for t in spec.transforms
    ]
    derived = dict(spec.derived) or None
    return P.FeatureSetParams(spec.dataset, spec.remainder, transforms, derived)


def _training_params(graph: ProjectGraph, training: Training) -> P.TrainingParams:
    info = graph.estimator(training)
    spec = training.spec
    metrics = list(spec.metrics or DEFAULT_METRICS[info.task])
    tuning = None
    if spec.tuning:
        scoring = spec.tuning.scoring or metrics[0]
        data = spec.tuning.model_dump(mode="json", exclude_none=True)
        data.update(scoring=scoring, scorer=METRICS[scoring].scorer)
        tuning = P.build(data, P.Tuning)
    return P.TrainingParams(
        dataset=graph.dataset_of(training).metadata.name,
        features=spec.features,
        task=info.task,
        estimator=info.path,
        params=dict(spec.estimator.params),
        metrics=metrics,
        seed=graph.seed(spec.seed),
        tuning=tuning,
    )


def _model_params(graph: ProjectGraph, model: Model) -> P.ModelParams:
    spec = model.spec
    gates = spec.gates.model_dump(mode="json", exclude_none=True)
    training = graph.training_of(model)
    primary = (training.spec.metrics or DEFAULT_METRICS[graph.estimator(training).task])[0]
    if spec.gates.no_regression is not None:
        gates["no_regression"]["metric"] = spec.gates.no_regression.metric or primary
    parity = spec.export.parity
    return P.ModelParams(
        training=spec.training,
        export=P.Export(
            graph.opset(model),
            spec.export.format,
            P.Parity(parity.max_abs_diff, parity.min_label_agreement),
        ),
        gates=P.build(gates, P.Gates),
        card=_as(P.Card, spec.card),
    )


# --- dvc.yaml -------------------------------------------------------------------------------
def _uncached(path: object) -> dict[str, dict[str, bool]]:
    return {str(path): {"cache": False}}


def build_stages(graph: ProjectGraph) -> tuple[dict[str, Any], dict[str, Any]]:
    stages, artifacts = _build_stages(graph)
    folder = graph.pipeline_dir
    if folder == PurePosixPath("."):
        return stages, artifacts
    # An environment's own pipeline: its stages run from the project root and read their
    # parameters from its params.yaml.
    params_file = str(folder / PARAMS_FILE)
    for stage in stages.values():
        stage["cmd"] = f"{stage['cmd']} --params {shell_quote(params_file)}"
        stage["params"] = [{params_file: stage["params"]}]
        stage["wdir"] = _up(folder)
    return stages, {
        name: {**entry, "path": str(PurePosixPath(_up(folder)) / entry["path"])}
        for name, entry in artifacts.items()
    }


def _build_stages(graph: ProjectGraph) -> tuple[dict[str, Any], dict[str, Any]]:
    layout = Layout(graph.artifacts)
    stages: dict[str, Any] = {}
    for dataset in graph.all(Dataset):
        stages.update(_dataset_stages(layout, dataset))
    for training in graph.all(Training):
        stages.update(_training_stages(graph, layout, training))
    artifacts: dict[str, Any] = {}
    for model in graph.all(Model):
        stages.update(_model_stages(graph, layout, model))
        artifacts[model.metadata.name] = {
            "path": str(layout.model(model.metadata.name).onnx),
            "type": "model",
            **({"desc": model.metadata.description} if model.metadata.description else {}),
            **(
                {"labels": sorted(f"{k}={v}" for k, v in model.metadata.labels.items())}
                if model.metadata.labels
                else {}
            ),
        }
    return stages, artifacts


def uncached_outputs(graph: ProjectGraph) -> list[str]:
    """The pipeline's outputs DVC keeps out of its cache (metrics and plots): what a
    registered version's commit holds beside dvc.lock. Every other output is cached, so
    each stage is in DVC's run-cache (DVC 3 leaves out a stage with an uncached plain
    output) and other runners restore it instead of running it."""
    stages, _ = build_stages(graph)
    found = []
    for stage in stages.values():
        for key in ("outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                if isinstance(entry, dict):
                    found += [p for p, o in entry.items() if o.get("cache") is False]
    return sorted(set(found))


def _cmd(step: str, name: str) -> str:
    return shell_join(["mlform", "stage", step, name])


def _dataset_stages(layout: Layout, dataset: Dataset) -> dict[str, Any]:
    name = dataset.metadata.name
    paths = layout.dataset(name)
    key = f"dataset.{name}"
    source = dataset.spec.source.path
    # With cleaning, every later stage reads the cleaned rows, not the source.
    data = source if dataset.spec.cleaning is None else str(paths.cleaned)
    cleaning = {
        f"clean-{name}": {
            "desc": f"Clean Dataset '{name}' by its cleaning rules, before the checks",
            "cmd": _cmd("clean", name),
            "deps": [source],
            "params": [f"{key}.source", f"{key}.target", f"{key}.columns", f"{key}.cleaning"],
            "outs": [str(paths.cleaned), str(paths.cleaning_report)],
            "metrics": [_uncached(paths.cleaning)],
        }
    }
    return {
        **(cleaning if dataset.spec.cleaning is not None else {}),
        f"check-{name}": {
            "desc": f"Check Dataset '{name}' against its column schema and quality checks",
            "cmd": _cmd("check", name),
            "deps": [data],
            "params": [f"{key}.source", f"{key}.target", f"{key}.columns", f"{key}.checks"],
            "outs": [str(paths.checks)],
        },
        f"profile-{name}": {
            "desc": f"Profile Dataset '{name}' (the reference for drift monitoring)",
            "cmd": _cmd("profile", name),
            "deps": [data, str(paths.checks)],
            "params": [f"{key}.source", f"{key}.target", f"{key}.columns"],
            "outs": [str(paths.profile), str(paths.profile_html)],
        },
        f"split-{name}": {
            "desc": f"Split Dataset '{name}' into train and test",
            "cmd": _cmd("split", name),
            "deps": [data, str(paths.checks)],
            "params": [f"{key}.source", f"{key}.target", f"{key}.columns", f"{key}.split"],
            "outs": [str(paths.train), str(paths.test)],
        },
    }


def _training_stages(graph: ProjectGraph, layout: Layout, training: Training) -> dict[str, Any]:
    name = training.metadata.name
    data = layout.dataset(graph.dataset_of(training).metadata.name)
    paths = layout.training(name)
    key = f"training.{name}"
    task = graph.estimator(training).task
    plots = CLASSIFICATION_PLOTS if task == "classification" else REGRESSION_PLOTS
    return {
        f"train-{name}": {
            "desc": f"Train (and tune) Training '{name}'; predict the test split",
            "cmd": _cmd("train", name),
            "deps": [str(data.train), str(data.test)],
            "params": [
                f"featureset.{training.spec.features}",
                f"{key}.estimator",
                f"{key}.params",
                f"{key}.tuning",
                f"{key}.seed",
            ],
            "outs": [str(paths.pipeline), str(paths.predictions)],
            "metrics": [_uncached(paths.tuning)],
        },
        f"evaluate-{name}": {
            "desc": f"Evaluate Training '{name}' on the test split",
            "cmd": _cmd("evaluate", name),
            "deps": [str(paths.predictions)],
            "params": [f"{key}.metrics"],
            "metrics": [_uncached(paths.metrics)],
            "plots": [
                {
                    str(paths.plots / p.file): {
                        "cache": False,
                        "x": p.x,
                        "y": p.y,
                        "template": p.template,
                        "title": p.title,
                    }
                }
                for p in plots
            ],
        },
    }


def _model_stages(graph: ProjectGraph, layout: Layout, model: Model) -> dict[str, Any]:
    name = model.metadata.name
    training = graph.training_of(model)
    data = layout.dataset(graph.dataset_of(training).metadata.name)
    trained = layout.training(training.metadata.name)
    paths = layout.model(name)
    key = f"model.{name}"
    return {
        f"export-{name}": {
            "desc": f"Export Model '{name}' to ONNX and check parity with scikit-learn",
            "cmd": _cmd("export", name),
            "deps": [str(trained.pipeline), str(data.test)],
            "params": [f"{key}.export"],
            "outs": [str(paths.onnx)],
            "metrics": [_uncached(paths.parity)],
        },
        f"review-{name}": {
            "desc": f"Review Model '{name}' against its gates and write its model card",
            "cmd": _cmd("review", name),
            "deps": [
                str(paths.onnx),
                str(trained.pipeline),
                str(data.test),
                str(trained.metrics),
            ],
            "params": [f"{key}.gates", f"{key}.card"],
            "outs": [str(paths.review), str(paths.card_md), str(paths.card_html)],
        },
    }
