"""Conformance: schemathesis drives the live server with the Open Inference Protocol's own
OpenAPI spec (tests/reference/open_inference_rest.yaml): no 5xx, and every response matches
the spec's schemas, status codes and content types."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.conftest import REPO
from tests.serving.conftest import Live

SPEC = yaml.safe_load((REPO / "tests" / "reference" / "open_inference_rest.yaml").read_text())
ERROR = {
    "description": "Not found",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/inference_error_response"}}
    },
}


def prepared(names: dict[str, list[str]] | None) -> dict[str, Any]:
    """The spec with its `${PARAM}` paths as OpenAPI templates; with ``names``, path
    parameters are limited to the served model (else any string)."""
    spec = copy.deepcopy(SPEC)
    paths = {}
    for path, item in spec["paths"].items():
        for parameter in item.get("parameters", []):
            if names is not None:
                parameter["schema"] = {"type": "string", "enum": names[parameter["name"]]}
        # The OpenAPI file lists 200 and 400 only; the protocol's text makes unknown models
        # and versions an error response too, which is 404 here.
        for operation in (item[m] for m in ("get", "post") if m in item):
            if "$" in path:
                operation["responses"]["404"] = ERROR
        paths[path.replace("${", "{")] = item
    spec["paths"] = paths
    return spec


SERVED = schemathesis.openapi.from_dict(
    prepared({"MODEL_NAME": ["credit-risk"], "MODEL_VERSION": ["v0.1.0", "0.1.0"]})
)
ANY_NAME = schemathesis.openapi.from_dict(prepared(None))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.slow
@SERVED.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_model_conforms(case: schemathesis.Case, live: Live) -> None:
    response = case.call(base_url=live.url)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.slow
@ANY_NAME.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_unknown_names_conform(case: schemathesis.Case, live: Live) -> None:
    response = case.call(base_url=live.url)
    case.validate_response(response, checks=CHECKS)
