"""Champion against challenger: the served version and the retrained model scored on a
common holdout (the new test split's rows the champion never trained on), both through
onnxruntime as they are served."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlform.errors import UserError
from mlform.layout import Layout
from mlform.project import ProjectGraph
from mlform.spec import Dataset, Model, RetrainPolicy


def _row_hashes(frame: Any) -> Any:
    """A hash per row, of its values as text (so a row compares equal across parquet files)."""
    import pandas as pd

    return pd.util.hash_pandas_object(frame.astype(str), index=False)


def rows_of(path: Path) -> set[int]:
    import pandas as pd

    return set(_row_hashes(pd.read_parquet(path)).tolist()) if path.is_file() else set()


@dataclass(frozen=True)
class Comparison:
    """The challenger's and the champion's metric on the same holdout, and the verdict."""

    metric: str
    holdout_rows: int
    holdout: str  # which rows, in words
    challenger: float
    challenger_wins: bool
    summary: str
    champion: float | None = None
    champion_version: str | None = None
    improvement: float | None = None
    min_improvement: float | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.champion_version is None:  # no champion: nothing was compared
            for key in ("champion_version", "improvement", "min_improvement"):
                out.pop(key)
        return out


def compare(
    graph: ProjectGraph,
    policy: RetrainPolicy,
    model: Model,
    served: str | None,
    old_train: set[int],
    work: Path,
) -> Comparison:
    """The challenger (its outputs in ``work``, the scratch it was made in) against the
    served version on the new test split's rows the champion never trained on."""
    import pandas as pd

    from mlform.catalog.metrics import DEFAULT_METRICS, METRICS
    from mlform.registry import Registry

    root = graph.root
    training = graph.training_of(model)
    dataset = graph.dataset_of(training)
    layout = Layout(graph.artifacts)
    rule = policy.spec.promotion.champion_challenger
    task = graph.estimator(training).task
    metric = rule.metric or (training.spec.metrics or DEFAULT_METRICS[task])[0]
    test = pd.read_parquet(work / layout.dataset(dataset.metadata.name).test)
    unseen = ~_row_hashes(test).isin(old_train)
    note = "rows of the new test split the champion never trained on"
    if int(unseen.sum()) >= 30:
        holdout = test[unseen.to_numpy()]
    else:
        holdout = test
        note = "the new test split (the champion's training rows are unknown or cover it)"
    challenger_path = work / layout.model(model.metadata.name).onnx
    challenger = _evaluate(challenger_path, holdout, dataset, metric)
    if served is None:
        summary = f"no champion yet; challenger {metric} {challenger:.4f}"
        return Comparison(metric, len(holdout), note, challenger, True, summary)
    registry = Registry(root)
    version = registry.find(model.metadata.name, served)
    onnx_path = registry.onnx_path(version)
    incumbent = _evaluate(onnx_path, holdout, dataset, metric)
    higher = METRICS[metric].higher_is_better
    gain = (challenger - incumbent) if higher else (incumbent - challenger)
    wins = gain >= rule.min_improvement
    summary = (
        f"Champion/challenger on {len(holdout)} holdout rows ({note}): {metric} challenger "
        f"{challenger:.4f} vs champion {served} {incumbent:.4f} ({gain:+.4f}; needs "
        f"≥ {rule.min_improvement:+g}): challenger {'wins' if wins else 'loses'}"
    )
    return Comparison(
        metric,
        len(holdout),
        note,
        challenger,
        wins,
        summary,
        incumbent,
        served,
        gain,
        rule.min_improvement,
    )


def _evaluate(onnx_path: Path, frame: Any, dataset: Dataset, metric: str) -> float:
    """The ONNX model's ``metric`` on ``frame``, through onnxruntime, as it is served."""
    import numpy as np
    import onnxruntime as ort

    from mlform.runtime import export, frames, scores
    from mlform.runtime.export import read_metadata

    meta = read_metadata(onnx_path)

    columns = {name: c.dtype for name, c in dataset.spec.columns.items()}
    signature = export.Signature(list(meta.get("inputs") or []))
    inputs = [export.column_of(i) for i in signature.inputs]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    X = frames.model_frame(frame, columns, inputs)
    outputs = dict(
        zip(
            names,
            session.run(None, export.feeds(X, signature)),
            strict=True,
        )
    )
    truth = frame[dataset.spec.target].to_numpy()
    if meta.get("task") == "classification":
        classes = list(meta.get("classes") or [])
        probabilities = outputs.get("probabilities")
        values = scores.classification(
            truth, np.asarray(outputs[names[0]]).ravel(), probabilities, classes, [metric]
        )
    else:
        values = scores.regression(truth, np.asarray(outputs[names[0]]).ravel(), [metric])
    if metric not in values:
        raise UserError(f"{metric} cannot be computed for {onnx_path.name} on the holdout")
    return float(values[metric])
