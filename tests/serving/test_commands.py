"""`mlform server stop|status` on names the specs do not declare as local servers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run


def test_an_undeclared_name_is_an_error_with_a_suggestion(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    for command in ("stop", "status"):
        result = run_cli("server", command, "credit-risk-locl", cwd=credit)
        assert (result.code, result.out, result.err) == (
            1,
            "",
            "Error: no Deployment 'credit-risk-locl' — did you mean 'credit-risk-local'?\n"
            "Deployments: credit-risk-local, credit-risk-prod\n",
        )
    assert run_cli("server", "stop", "nope", cwd=credit).code == 1
    record = credit / "elsewhere" / "server.json"  # a name is never a path to a record
    record.parent.mkdir()
    record.write_text('{"pid": 999999999, "host": "127.0.0.1", "port": 1}')
    escaped = run_cli("server", "stop", "../../elsewhere", cwd=credit)
    assert (escaped.code, escaped.err) == (
        1,
        "Error: '../../elsewhere' is not a Deployment name (lower-case letters, digits, '-')\n",
    )


def test_a_cluster_deployment_says_what_it_is(credit: Path, run_cli: Callable[..., Run]) -> None:
    what = (
        "'credit-risk-prod' is a kserve deployment; mlform does not run it — see the rendered "
        f"manifest at {credit / 'deploy' / 'credit-risk-prod' / 'inferenceservice.yaml'}"
    )
    status = run_cli("server", "status", "credit-risk-prod", cwd=credit)
    assert (status.code, status.out) == (0, what + "\n")
    stop = run_cli("server", "stop", "credit-risk-prod", cwd=credit)
    assert (stop.code, stop.err) == (1, f"Error: {what}\n")


def test_a_declared_local_server_that_is_not_running(
    credit: Path, run_cli: Callable[..., Run]
) -> None:
    assert run_cli("server", "stop", "credit-risk-local", cwd=credit).out == (
        "The server of 'credit-risk-local' is not running.\n"
    )
    assert run_cli("server", "status", "credit-risk-local", cwd=credit).out == (
        "'credit-risk-local': not running\n"
    )
