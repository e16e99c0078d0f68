"""Editors check specs with the real yaml-language-server (the server behind VS Code's Red Hat
YAML extension, and Neovim's, Helix's, ...): on a project `mlform init` scaffolded, through
each file's `$schema` line and through the `yaml.schemas` mapping init writes to
.vscode/settings.json. The server runs from npm (installed once, then cached)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import requires
from tests.conftest import REPO, Run
from tests.lsp import LanguageServer

SERVER = "yaml-language-server@1.19.2"


@pytest.fixture(scope="module")
def server_program() -> Path:
    folder = requires.npm_package(SERVER, "yaml-language-server")
    program = folder / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    if not program.is_file():
        requires.missing(f"npm installed {SERVER} without its program {program}")
    return program


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlform.scaffold import init

    root = tmp_path_factory.mktemp("editor") / "demo"
    init(root, example="credit-risk", vcs=False)
    return root


@pytest.fixture(scope="module")
def server(server_program: Path, project: Path) -> Iterator[LanguageServer]:
    settings = json.loads((project / ".vscode" / "settings.json").read_text())
    yaml_settings = {
        "schemas": settings["yaml.schemas"],
        "validate": True,
        "completion": True,
        "schemaStore": {"enable": False},  # no network: only the project's schemas
    }
    node = shutil.which("node")
    assert node is not None

    def configuration(item: dict[str, Any]) -> Any:
        return yaml_settings if item.get("section") == "yaml" else None

    lsp = LanguageServer([node, str(server_program), "--stdio"], configuration)
    try:
        lsp.request(
            "initialize",
            {
                "processId": None,
                "rootUri": project.as_uri(),
                "workspaceFolders": [{"uri": project.as_uri(), "name": "demo"}],
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {
                        "completion": {"completionItem": {"snippetSupport": True}},
                        "publishDiagnostics": {},
                    },
                },
            },
        )
        lsp.notify("initialized", {})
        lsp.notify("workspace/didChangeConfiguration", {"settings": {"yaml": yaml_settings}})
        yield lsp
    finally:
        lsp.close()


def _open(server: LanguageServer, path: Path, text: str) -> list[dict[str, Any]]:
    """Open ``text`` as the document at ``path``; the diagnostics the server publishes."""
    uri = path.as_uri()
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}},
    )
    params = server.notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    return [
        (d["range"]["start"]["line"], d["range"]["start"]["character"], d["message"])
        for d in params["diagnostics"]
    ]


MODEL = (
    "apiVersion: mlform/v1\nkind: Model\nmetadata:\n  name: credit-risk\n"
    "spec:\n  training: credit-gbm\n  colour: blue\n"
)


def _completion(server: LanguageServer, path: Path, text: str, line: str) -> set[str]:
    """The labels the server offers at the end of the first ``line`` of ``text`` (opened as
    ``path`` in a new version)."""
    uri = path.as_uri()
    server.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]},
    )
    position = {"line": text.splitlines().index(line), "character": len(line)}
    result = server.request(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": position}
    )
    items = result["items"] if isinstance(result, dict) else result
    return {item["label"] for item in items}


def _schema_keys(definition: str) -> set[str]:
    schema = json.loads((REPO / "schemas" / "mlform.schema.json").read_text())
    return set(schema["$defs"][definition]["properties"])


def test_completion_offers_the_model_spec_fields(server: LanguageServer, project: Path) -> None:
    path = project / "ml" / "model.yaml"
    header = path.read_text().splitlines()[0]
    assert header == "# yaml-language-server: $schema=../schemas/mlform.schema.json"
    _open(server, path, path.read_text())
    text = f"{header}\n" + MODEL.replace("  colour: blue\n", "  \n")
    labels = _completion(server, path, text, "  ")
    assert labels == _schema_keys("ModelSpec") - {"training"}
    assert "gates" in labels


def test_an_unknown_field_is_one_diagnostic(server: LanguageServer, project: Path) -> None:
    path = project / "ml" / "training.yaml"
    header = path.read_text().splitlines()[0]
    assert _open(server, path, f"{header}\n{MODEL}") == [(7, 2, "Property colour is not allowed.")]


def test_files_without_a_schema_line_are_checked_through_the_vscode_settings(
    server: LanguageServer, project: Path
) -> None:
    path = project / "ml" / "extra.yaml"
    assert _open(server, path, MODEL) == [(6, 2, "Property colour is not allowed.")]


def test_overlays_are_checked_by_the_overlay_schema(server: LanguageServer, project: Path) -> None:
    path = project / "environments" / "prod.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/overlay.schema.json\n")
    assert _open(server, path, text) == []
    labels = _completion(server, path, text.replace("spec:\n", "spec:\n  \n"), "  ")
    assert labels == _schema_keys("ModelSpec") - {"gates"}
    staging = project / "environments" / "staging.yaml"
    bad = staging.read_text().replace("local: {port: 8086}", "local: {prot: 8086}")
    assert _open(server, staging, bad) == [(7, 10, "Property prot is not allowed.")]


def test_init_merges_into_the_vscode_settings(tmp_path: Path, run_cli: Callable[..., Run]) -> None:
    settings = tmp_path / "p" / ".vscode" / "settings.json"
    settings.parent.mkdir(parents=True)
    mine = {"editor.tabSize": 2, "yaml.schemas": {"./mine.json": "*.mine.yaml"}}
    settings.write_text(json.dumps(mine))
    assert run_cli("init", "p", "--no-git", "--force", cwd=tmp_path).code == 0
    assert json.loads(settings.read_text()) == {
        "editor.tabSize": 2,
        "yaml.schemas": {
            "./mine.json": "*.mine.yaml",
            "./schemas/mlform.schema.json": ["mlform.yaml", "ml/**/*.yaml", "ml/**/*.yml"],
        },
    }


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            '{\n  // mine\n  "a": 1\n}\n',
            "Error: .vscode/settings.json:2:3: not plain JSON "
            "(Expecting property name enclosed in double quotes)",
        ),
        ("[1]\n", "Error: .vscode/settings.json: expected a JSON object, got list"),
        (
            '{"yaml.schemas": [1]}',
            "Error: .vscode/settings.json: `yaml.schemas` is not a mapping of schema → glob "
            "or glob list",
        ),
    ],
)
def test_init_refuses_settings_it_would_damage(
    tmp_path: Path, run_cli: Callable[..., Run], text: str, error: str
) -> None:
    settings = tmp_path / "p" / ".vscode" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(text)
    result = run_cli("init", "p", "--no-git", "--force", cwd=tmp_path)
    assert result.code == 1
    assert result.err.splitlines()[0] == error
    assert settings.read_text() == text
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [".vscode"]
