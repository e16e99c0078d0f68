"""The committed JSON Schemas match the spec models; examples satisfy them; the estimator
table matches the installed scikit-learn."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from mlform.catalog import estimators
from mlform.loader import load_file
from mlform.schema_export import COMBINED, OVERLAY, schemas
from tests.conftest import EXAMPLES, REPO, Run


def test_committed_schemas_are_current() -> None:
    generated = schemas()
    committed = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "schemas").glob("*.json")}
    stale = sorted(name for name in generated if committed.get(name) != generated[name])
    extra = sorted(set(committed) - set(generated))
    assert (stale, extra) == ([], []), "run `mlform schema export` and commit schemas/"


def test_schema_export_check(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    assert run_cli("schema", "export", "--dir", str(tmp_path / "s"), cwd=tmp_path).code == 0
    assert (
        run_cli("schema", "export", "--check", "--dir", str(tmp_path / "s"), cwd=tmp_path).code == 0
    )
    (tmp_path / "s" / "model.schema.json").write_text("{}")
    result = run_cli("schema", "export", "--check", "--dir", str(tmp_path / "s"), cwd=tmp_path)
    assert result.code == 1 and "model.schema.json" in result.out


SPEC_FILES = sorted([*EXAMPLES.glob("*/mlform.yaml"), *EXAMPLES.glob("*/ml/*.yaml")])


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_documents_satisfy_the_combined_schema(path: Path) -> None:
    schema = json.loads((REPO / "schemas" / COMBINED).read_text())
    docs, problems = load_file(path, path.name)
    assert problems == []
    for doc in docs:
        jsonschema.validate(doc.data, schema)


OVERLAY_FILES = sorted(EXAMPLES.glob("*/environments/*.yaml"))


@pytest.mark.parametrize(
    "path", [*SPEC_FILES, *OVERLAY_FILES], ids=lambda p: str(p.relative_to(EXAMPLES))
)
def test_example_files_name_their_schema_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    schema = OVERLAY if path in OVERLAY_FILES else COMBINED
    assert (
        first
        == f"# yaml-language-server: $schema=../../{'../' * (len(path.relative_to(EXAMPLES).parts) - 2)}schemas/{schema}"
    )
    assert (path.parent / first.partition("$schema=")[2]).resolve() == REPO / "schemas" / schema


@pytest.mark.parametrize("path", OVERLAY_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_overlays_satisfy_the_overlay_schema_not_the_full_one(path: Path) -> None:
    overlay = json.loads((REPO / "schemas" / OVERLAY).read_text())
    full = json.loads((REPO / "schemas" / COMBINED).read_text())
    docs, problems = load_file(path, path.name)
    assert problems == [] and docs
    for doc in docs:
        jsonschema.validate(doc.data, overlay)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc.data, full)


def _overlay(spec: object, metadata: object = None) -> dict[str, object]:
    return {"kind": "Model", "metadata": metadata or {"name": "m"}, "spec": spec}


@pytest.mark.parametrize(
    ("document", "valid"),
    [
        (_overlay({"gates": {"metrics": {"roc_auc": {"min": 0.8}}}}), True),
        (_overlay({"gates": None, "registry": {"bump": None}}), True),  # null deletes
        (_overlay({"gates": {"metricz": {}}}), False),  # unknown fields stay errors
        (_overlay({"gates": {"metrics": {"roc_auc": {"min": "high"}}}}), False),
        (_overlay({}, metadata={"description": "no name"}), False),
        ({"metadata": {"name": "m"}, "spec": {}}, False),  # no kind
        ({**_overlay({}), "kind": "Modle"}, False),
        ({**_overlay({}), "apiVersion": "mlform/v2"}, False),
        # list items replace whole: they keep the full schema (a transform needs columns)
        ({**_overlay({"transforms": [{}]}), "kind": "FeatureSet"}, False),
        ({**_overlay({"transforms": None}), "kind": "FeatureSet"}, True),
    ],
)
def test_the_overlay_schema_accepts_merge_patches_only(document: object, valid: bool) -> None:
    schema = json.loads((REPO / "schemas" / OVERLAY).read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(document))
    assert (errors == []) is valid, [e.message for e in errors]


def test_schema_rejects_what_validate_rejects() -> None:
    schema = json.loads((REPO / "schemas" / COMBINED).read_text())
    bad = {
        "apiVersion": "mlform/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"model": "m", "colour": 1},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_estimator_table_matches_installed_scikit_learn() -> None:
    from mlform.catalog._estimator_params import PARAMS, PREDICT_PROBA

    params, proba = estimators.introspect()
    assert (params, proba) == (PARAMS, PREDICT_PROBA), "run `python -m mlform.catalog.estimators`"


def test_every_allowed_estimator_converts_to_onnx() -> None:
    from skl2onnx import supported_converters

    convertible = set(supported_converters(from_sklearn=True))
    linear = {
        "LogisticRegression",
        "SGDClassifier",
        "LinearRegression",
        "Ridge",
        "Lasso",
        "ElasticNet",
        "SGDRegressor",
    }
    for name in estimators.names():
        assert name in convertible or name in linear, name


def test_estimators_listing(run_cli: Callable[..., Run], tmp_path: Path) -> None:
    result = run_cli("schema", "estimators", cwd=tmp_path)
    assert result.code == 0
    assert (
        "HistGradientBoostingClassifier   classification  sklearn.ensemble.HistGradientBoostingClassifier"
        in result.out
    )
