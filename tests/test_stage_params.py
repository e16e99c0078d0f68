"""The stage contract: params.yaml as typed values, written by the compiler and read back by
the stages without loss, with located errors for values that do not fit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import mlform
from mlform import stage_params as P
from mlform.errors import UserError
from mlform.targets.dvc import build_params
from tests.conftest import EXAMPLES, Run, copy_example

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("example", ["credit-risk", "diabetes-regression"])
def test_params_round_trip_without_loss(example: str) -> None:
    written = yaml.safe_load((EXAMPLES / example / "params.yaml").read_text())
    typed = P.read(written, P.PipelineParams)
    assert P.to_data(typed) == written  # every value, and so the spec hash, survives
    assert typed == build_params(mlform.load(EXAMPLES / example))


def test_a_generated_repository_round_trips(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks/gen_repo.py"),
            "--models",
            "40",
            "--out",
            str(tmp_path / "r"),
        ],
        check=True,
        capture_output=True,
    )
    params = build_params(mlform.load(tmp_path / "r"))
    assert P.read(P.to_data(params), P.PipelineParams) == params


def test_stages_read_typed_values(tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "credit-risk" / "params.yaml").read_text())
    typed = P.read(data, P.PipelineParams)
    training = typed.training["credit-gbm"]
    assert training.tuning is not None
    assert isinstance(training.tuning.space["l2_regularization"], P.Distribution)
    assert training.tuning.space["max_leaf_nodes"] == [15, 31]
    steps = typed.featureset["credit-features"].transforms[1].steps or []
    assert [s.kind for s in steps] == ["impute", "clip", "scale"]
    assert steps[1].options == P.Clip(0, 40)
    assert typed.model["credit-risk"].gates.metrics["roc_auc"] == P.Bounds(min=0.7)
    assert typed.dataset["credit"].columns["age"].min == 18.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["training"]["credit-gbm"].update(seed="42"),
            "params.yaml: training.credit-gbm.seed: expected an integer, got '42'",
        ),
        (
            lambda d: d["dataset"]["credit"]["split"].update(method="shuffle"),
            "params.yaml: dataset.credit.split.method: expected one of random, stratified, "
            "time, got 'shuffle'",
        ),
        (
            lambda d: d["model"]["credit-risk"]["export"].update(opset_version=17),
            "params.yaml: model.credit-risk.export: unknown key 'opset_version'; is "
            "params.yaml stale? Run `mlform compile`",
        ),
        (
            lambda d: d["dataset"]["credit"].pop("target"),
            "params.yaml: dataset.credit: 'target' is missing; is params.yaml stale? Run "
            "`mlform compile`",
        ),
    ],
)
def test_a_value_that_does_not_fit_is_located(
    edit: Callable[[dict[str, Any]], Any], message: str
) -> None:
    data = yaml.safe_load((EXAMPLES / "credit-risk" / "params.yaml").read_text())
    edit(data)
    with pytest.raises(UserError) as error:
        P.read(data, P.PipelineParams)
    assert error.value.message == message


def test_a_stage_refuses_a_hand_edited_params_file(
    tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    root = copy_example("credit-risk", tmp_path / "credit")
    params = root / "params.yaml"
    params.write_text(
        params.read_text().replace("      test_size: 0.25", "      test_size: a quarter")
    )
    result = run_cli("stage", "split", "credit", "--params", str(params), cwd=root)
    assert result.code == 1
    assert result.err.strip() == (
        "Error: params.yaml: dataset.credit.split.test_size: expected a number, got 'a quarter'"
    )
