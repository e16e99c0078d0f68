"""The server token: feedback and /mlform/status want it, mlform's own clients send it, and
a server off loopback does not start without it. Real servers on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlform.errors import UserError
from mlform.serving import auth, daemon
from tests.conftest import Run
from tests.serving.conftest import Live, Trained, config_for, free_port, row_inputs

FEEDBACK = {"request_id": "r-1", "label": 1}
NO_TOKEN = {"error": "this endpoint needs the server's token: send Authorization: Bearer <token>"}


def request(
    live: Live, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and JSON body."""
    connection = http.client.HTTPConnection(live.url.removeprefix("http://"), timeout=10)
    sent = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(
        method,
        path,
        None if body is None else json.dumps(body),
        {**sent, **(headers or {})},
    )
    response = connection.getresponse()
    answer = (
        response.status,
        {k.lower(): v for k, v in response.getheaders()},
        json.loads(response.read()),
    )
    connection.close()
    return answer


def token_file(tmp_path: Path) -> tuple[Path, str]:
    value = secrets.token_urlsafe(32)
    path = tmp_path / "token"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path, value


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)


def test_feedback_and_status_want_the_token(trained: Trained, tmp_path: Path) -> None:
    secret_file, token = token_file(tmp_path)
    folder = tmp_path / "serve"
    config = config_for(trained, folder, free_port())
    running = daemon.apply(folder, config, token_file=secret_file)
    live = Live(running.url, folder, config)
    try:
        status, headers, body = request(live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK)
        assert (status, headers["www-authenticate"], body) == (
            401,
            'Bearer realm="mlform"',
            NO_TOKEN,
        )
        wrong = {"Authorization": f"Bearer {token[:-1]}x"}
        status, headers, body = request(
            live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK, wrong
        )
        assert (status, headers["www-authenticate"], body) == (
            401,
            'Bearer realm="mlform", error="invalid_token"',
            {"error": "the token sent is not this server's"},
        )
        right = {"Authorization": f"Bearer {token}"}
        assert request(live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK, right)[::2] == (
            200,
            {"recorded": 1},
        )
        assert request(live, "GET", "/mlform/status")[::2] == (401, NO_TOKEN)
        assert request(live, "GET", "/mlform/status", headers=right)[0] == 200
        # Inference, health and metadata stay open.
        inputs = row_inputs(trained.test.head(1))
        assert request(live, "POST", "/v2/models/credit-risk/infer", {"inputs": inputs})[0] == 200
        assert request(live, "GET", "/v2/models/credit-risk")[0] == 200
        # mlform's own clients send it: status, and the hot swap's wait.
        seen = daemon.status(folder)
        assert seen is not None and seen.status["deployment"] == "credit-risk-local"
        swapped = daemon.apply(folder, config_for(trained, folder, config.port, (0, 100)))
        assert (swapped.pid, swapped.status["generation"]) == (running.pid, 2)
        # The token is in none of the files mlform writes, nor on the command line.
        for name in ("server.json", "config.json"):
            assert token not in (folder / name).read_text()
        assert json.loads((folder / "server.json").read_text())["token_file"] == str(secret_file)
        assert token.encode() not in Path(f"/proc/{running.pid}/cmdline").read_bytes()
    finally:
        daemon.stop(folder)


def test_a_token_from_the_environment(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Run]
) -> None:
    token = secrets.token_urlsafe(32)
    monkeypatch.setenv(auth.TOKEN_ENV, token)
    folder = trained.root / ".mlform" / "serve" / "credit-risk-local"
    config = config_for(trained, folder, free_port())
    running = daemon.apply(folder, config)
    live = Live(running.url, folder, config)
    try:
        assert request(live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK)[0] == 401
        right = {"Authorization": f"Bearer {token}"}
        assert request(live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK, right)[0] == 200
        shown = run_cli("server", "status", "credit-risk-local", cwd=trained.root)
        assert shown.code == 0 and "serving credit-risk@v0.1.0 (100%)" in shown.out
        # A shell without the token: the server runs, and mlform says what it lacks.
        monkeypatch.delenv(auth.TOKEN_ENV)
        shown = run_cli("server", "status", "credit-risk-local", cwd=trained.root)
        assert (shown.code, shown.out) == (
            0,
            f"'credit-risk-local': running at {running.url} (pid {running.pid}); what it serves needs its token: set MLFORM_SERVER_TOKEN or pass --token-file\n",
        )
        with pytest.raises(UserError) as refused:
            daemon.apply(folder, config_for(trained, folder, config.port, (0, 100)))
        assert refused.value.message == (
            f"the server of 'credit-risk-local' (pid {running.pid}) refused mlform: it wants a token"
        )
        assert json.loads((folder / "config.json").read_text()) == json.loads(config.to_json())
        wrong = folder.parent / "wrong-token"
        wrong.write_text("w" * 32)
        with pytest.raises(UserError) as refused:
            daemon.apply(folder, config, token_file=wrong)
        assert refused.value.message.endswith(f"refused the token from the token file {wrong}")
    finally:
        daemon.stop(folder)


def test_off_loopback_a_server_does_not_start_without_a_token(
    trained: Trained, tmp_path: Path, run_cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    config = config_for(trained, tmp_path, port)
    wide = tmp_path / "config.json"
    wide.write_text(config.to_json().replace('"127.0.0.1"', '"0.0.0.0"'))
    refused = run_cli("serve", "--config", str(wide))
    assert (refused.code, refused.err) == (
        1,
        f"Error: refusing to serve on 0.0.0.0:{port} without a token: anyone who can reach the port could post feedback that retraining uses\n"
        f"Set MLFORM_SERVER_TOKEN or pass --token-file PATH (a file only you can read); make a token with: {auth.HOW_TO_MAKE}\n",
    )
    with pytest.raises(UserError, match=r"refusing to serve on 0\.0\.0\.0"):
        daemon.apply(tmp_path / "d", type(config).load(wide))
    assert not (tmp_path / "d" / "server.json").exists()
    monkeypatch.setenv(auth.TOKEN_ENV, "short")
    weak = run_cli("serve", "--config", str(wide))
    assert (weak.code, weak.err.splitlines()[0]) == (
        1,
        "Error: MLFORM_SERVER_TOKEN holds a token of 5 characters; use at least 16",
    )
    missing = run_cli("serve", "--config", str(wide), "--token-file", str(tmp_path / "nope"))
    assert (missing.code, missing.err) == (
        1,
        f"Error: cannot read the token file {tmp_path / 'nope'}: No such file or directory\n",
    )


def test_without_a_token_admin_requests_want_a_loopback_host(live: Live) -> None:
    """A web page whose DNS name is rebound to 127.0.0.1 sends its own Host."""
    rebound = {"Host": "attacker.example:8080"}
    assert request(live, "POST", "/v2/models/credit-risk/feedback", FEEDBACK, rebound)[::2] == (
        421,
        {"error": "this server has no token and answers admin requests for loopback names only"},
    )
    assert request(live, "GET", "/mlform/status", headers={"Host": "localhost:1"})[0] == 200
    assert request(live, "GET", "/mlform/status", headers={"Host": "[::1]:8080"})[0] == 200
