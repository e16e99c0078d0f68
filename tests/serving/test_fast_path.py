"""The V2 fast path accepts only what the full parser accepts, into the same arrays."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from mlform.serving.config import ServedVersion
from mlform.serving.errors import RequestError
from mlform.serving.fast_path import fast_v2
from mlform.serving.model import ServedModel
from mlform.serving.protocol import parse_v2
from tests.serving.conftest import Trained, row_inputs, sha256


@pytest.fixture(scope="module")
def model(trained: Trained) -> ServedModel:
    return ServedModel(
        ServedVersion("credit-risk", "v0.1.0", str(trained.onnx), sha256(trained.onnx))
    )


def variants(trained: Trained) -> list[tuple[str, Any]]:
    good = {"id": "r-1", "inputs": row_inputs(trained.test.dropna().head(3))}
    out: list[tuple[str, Any]] = [("good", good)]

    def changed(what: str, change: Any) -> None:
        body = copy.deepcopy(good)
        change(body)
        out.append((what, body))

    changed("an int", lambda b: b["inputs"][0].update(data=[35, 40.5, 41.0]))
    changed("a null", lambda b: b["inputs"][0].update(data=[None, 40.5, 41.0]))
    changed("a bool", lambda b: b["inputs"][0].update(data=[True, 40.5, 41.0]))
    changed("a string number", lambda b: b["inputs"][0].update(data=["35", 40.5, 41.0]))
    changed("nested data", lambda b: b["inputs"][0].update(data=[[35.0], [40.5], [41.0]]))
    changed("a bool shape", lambda b: b["inputs"][0].update(shape=[3, True]))
    changed("a wrong shape", lambda b: b["inputs"][0].update(shape=[2, 1]))
    changed("a shape of 2 columns", lambda b: b["inputs"][0].update(shape=[3, 2]))
    changed("BYTES for a number", lambda b: b["inputs"][0].update(datatype="BYTES"))
    changed("FP64 for a string", lambda b: b["inputs"][3].update(datatype="FP64"))
    changed("an unknown datatype", lambda b: b["inputs"][0].update(datatype="FP99"))
    changed("an extra key", lambda b: b["inputs"][0].update(parameters={}))
    changed("a missing input", lambda b: b["inputs"].pop())
    changed("an input twice", lambda b: b["inputs"].append(b["inputs"][0]))
    changed("other rows", lambda b: b["inputs"][1].update(shape=[2], data=[1.0, 2.0]))
    changed("a number id", lambda b: b.update(id=5))
    changed("huge", lambda b: b["inputs"][0].update(data=[1e308, 1e308, 1e308]))
    changed("outputs", lambda b: b.update(outputs=[{"name": "label"}]))
    return out


def one_row_variants(trained: Trained) -> list[tuple[str, Any]]:
    """A one-row request's value is checked without a loop: the same cases, one value."""
    good = {"inputs": row_inputs(trained.test.dropna().head(1))}
    out: list[tuple[str, Any]] = [("good", good)]

    def changed(what: str, change: Any) -> None:
        body = copy.deepcopy(good)
        change(body)
        out.append((what, body))

    changed("an int", lambda b: b["inputs"][0].update(data=[35]))
    changed("a null", lambda b: b["inputs"][0].update(data=[None]))
    changed("a bool", lambda b: b["inputs"][0].update(data=[True]))
    changed("a string number", lambda b: b["inputs"][0].update(data=["35"]))
    changed("a number string", lambda b: b["inputs"][3].update(data=[35.0]))
    changed("nested data", lambda b: b["inputs"][0].update(data=[[35.0]]))
    changed("a bool shape", lambda b: b["inputs"][0].update(shape=[True]))
    changed("a float shape", lambda b: b["inputs"][0].update(shape=[1.0, 1]))
    changed("an empty shape", lambda b: b["inputs"][0].update(shape=[]))
    changed("no data", lambda b: b["inputs"][0].update(shape=[0], data=[]))
    changed("a 3-d shape", lambda b: b["inputs"][0].update(shape=[1, 1, 1]))
    changed("a name that is a list", lambda b: b["inputs"][0].update(name=["age"]))
    changed("huge", lambda b: b["inputs"][0].update(data=[1e308]))
    return out


@pytest.mark.parametrize("cases", [variants, one_row_variants])
def test_the_fast_path_agrees_with_the_full_parser(
    trained: Trained, model: ServedModel, cases: Any
) -> None:
    taken = []
    for what, body in cases(trained):
        fast = fast_v2(body, model, 10_000)
        try:
            full = parse_v2(body, model, 10_000)
        except RequestError:
            assert fast is None, what  # never accepts what the parser refuses
            continue
        if fast is None:
            continue
        taken.append(what)
        assert (fast.rows, fast.id, fast.outputs) == (full.rows, full.id, full.outputs), what
        assert list(fast.columns) == list(full.columns), what
        for name, values in full.columns.items():
            assert fast.columns[name].dtype == values.dtype, what
            assert np.array_equal(fast.columns[name], values), what
    assert taken == (["good"] if cases is variants else ["good", "huge"])
