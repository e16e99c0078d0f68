"""Start-up: each command imports only what it needs (the lazy command group, deferred
models), and `mlform --help` still lists every command exactly as click would.

Assertions on modules, not on time: the times are benchmarks/bench_startup.py's.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

import mlform.cli
from mlform.cli.app import COMMANDS, cli
from tests.conftest import Run, copy_example

# The ML stack, the servers and the template engine: never on the paths below
HEAVY = {
    "sklearn",
    "skl2onnx",
    "onnx",
    "onnxruntime",
    "dvc",
    "pandas",
    "numpy",
    "scipy",
    "pyarrow",
    "joblib",
    "uvicorn",
    "uvloop",
    "httptools",
    "grpc",
    "psycopg",
}
# Modules of mlform a validation has no use for (other commands' code)
NOT_FOR_VALIDATE = {
    "mlform.cli.reconcile",
    "mlform.cli.serve",
    "mlform.cli.monitor",
    "mlform.cli.state",
    "mlform.cli.models",
    "mlform.cli.commands",
    "mlform.compiler",
    "mlform.render",
    "mlform.reconcile",
    "mlform.serving",
    "mlform.monitoring",
    "mlform.retraining",
    "mlform.runtime",
    "mlform.engines",
}
_PROBE = """
import json, sys
sys.argv = ["mlform", *sys.argv[1:]]
from mlform.cli import main
try:
    main()
except SystemExit as done:
    code = done.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _env() -> dict[str, str]:
    """This environment, with the mlform these tests import first on the path."""
    source = str(Path(mlform.cli.__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}


def imported_by(args: list[str], cwd: Path) -> tuple[set[str], set[str]]:
    """Run `mlform ARGS` in a fresh interpreter: (top-level packages, mlform's modules)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, None), done.stdout + done.stderr
    modules: list[str] = report["modules"]
    return {m.split(".")[0] for m in modules}, {m for m in modules if m.startswith("mlform")}


@pytest.fixture(scope="module")
def credit_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The credit example in a git repository of its own, as a user's project is."""
    project = copy_example("credit-risk", tmp_path_factory.mktemp("startup") / "credit-risk")
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "specs"],
    ):
        subprocess.run(argv, cwd=project, check=True, capture_output=True)
    return project


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["serve", "--help"], ["monitor", "run", "--help"]],
    ids=" ".join,
)
def test_help_and_version_import_click_only(args: list[str], tmp_path: Path) -> None:
    packages, _ = imported_by(args, tmp_path)
    assert sorted(packages & {"pydantic", "ruamel", "jinja2", "yaml", "re2", *HEAVY}) == []


def test_validate_imports_no_other_commands_code(credit_repo: Path) -> None:
    packages, ours = imported_by(["validate"], credit_repo)
    assert sorted(packages & {"jinja2", "yaml", *HEAVY}) == []
    assert sorted(m for m in ours if m.startswith(tuple(NOT_FOR_VALIDATE))) == []


@pytest.mark.parametrize(
    "args",
    [["compile", "--check"], ["plan"], ["status"], ["schema", "export", "--check", "--dir", "s"]],
    ids=" ".join,
)
def test_compile_and_plan_import_no_ml_stack(args: list[str], credit_repo: Path) -> None:
    if args[0] == "schema":
        subprocess.run(
            [sys.executable, "-m", "mlform", "schema", "export", "--dir", "s"],
            cwd=credit_repo,
            env=_env(),
            check=True,
            capture_output=True,
        )
    packages, ours = imported_by(args, credit_repo)
    assert sorted(packages & HEAVY) == []
    assert sorted(m for m in ours if m.startswith(("mlform.cli.serve", "mlform.serving"))) == []


def _top_level_commands() -> set[tuple[str, str]]:
    """(module, attribute) of every click command defined in mlform.cli's modules that is
    no group's subcommand: what the table must list."""
    defined: dict[int, tuple[str, str]] = {}
    children: set[int] = {id(cli)}
    for info in pkgutil.iter_modules(mlform.cli.__path__):
        module = importlib.import_module(f"mlform.cli.{info.name}")
        for attribute, value in vars(module).items():
            if not isinstance(value, click.Command) or value.callback is None:
                continue
            if value.callback.__module__ == module.__name__:
                defined[id(value)] = (module.__name__, attribute)
            if isinstance(value, click.Group):
                children.update(id(c) for c in value.commands.values())
    return {where for key, where in defined.items() if key not in children}


def test_the_command_table_says_what_each_command_says() -> None:
    for name, entry in COMMANDS.items():
        command = getattr(importlib.import_module(entry.module), entry.attribute)
        assert command.name == name
        assert command.hidden == entry.hidden, name
        assert inspect.cleandoc(command.help).split("\n\n")[0] == entry.help, name
        assert command.short_help is None, name  # the table holds the help click shortens
    listed = {(e.module, e.attribute) for e in COMMANDS.values()} | {("mlform.cli.app", "validate")}
    assert sorted(_top_level_commands() - listed) == []


@pytest.mark.parametrize("width", [50, 80, 200])
def test_help_lists_every_command_as_click_would(width: int) -> None:
    eager = click.Group(
        "mlform", help=cli.help, params=cli.params, context_settings=cli.context_settings
    )
    for name, entry in sorted(COMMANDS.items()):
        eager.add_command(getattr(importlib.import_module(entry.module), entry.attribute), name)
    eager.add_command(cli.commands["validate"])
    settings = cli.context_settings  # as `mlform` runs: -h too, 100 columns at most
    lazy_help = cli.get_help(
        click.Context(cli, info_name="mlform", terminal_width=width, **settings)
    )
    eager_help = eager.get_help(
        click.Context(eager, info_name="mlform", terminal_width=width, **settings)
    )
    assert lazy_help == eager_help
    assert "\n  serve " in lazy_help
    assert "\n  stage " not in lazy_help  # hidden


def test_a_mistyped_command_suggests_lazy_ones(run_cli: Callable[..., Run], tmp_path: Path) -> None:
    result = run_cli("serv", cwd=tmp_path)
    assert result.code == 2
    assert result.err.endswith(
        "Error: No such command 'serv'. (Did you mean one of: 'serve', 'server'?)\n"
    )
    result = run_cli("valdate", cwd=tmp_path)
    assert result.err.endswith("Error: No such command 'valdate'. Did you mean 'validate'?\n")


def test_show_reads_a_saved_plan_without_pydantic(credit_repo: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "mlform", "plan", "--out", "saved.plan"],
        cwd=credit_repo,
        env=_env(),
        check=True,
        capture_output=True,
    )
    packages, ours = imported_by(["show", "saved.plan"], credit_repo)
    assert sorted(packages & {"pydantic", "pydantic_core", "ruamel", "jinja2", "yaml"}) == []
    assert sorted(m for m in ours if m.startswith("mlform.spec")) == []


def test_state_list_builds_only_the_project_kind(credit_repo: Path) -> None:
    _, ours = imported_by(["state", "list"], credit_repo)
    assert sorted(m for m in ours if m.startswith("mlform.spec")) == [
        "mlform.spec",
        "mlform.spec.base",
        "mlform.spec.project",
    ]


_PLUGIN_PROBE = """
import json, sys
sys.argv = ["mlform", "validate"]
from mlform.cli import main
try:
    main()
except SystemExit:
    pass
from pydantic.plugin import _loader
print(json.dumps({"scanned": _loader._plugins is not None}), file=sys.stderr)
"""


@pytest.mark.parametrize(("setting", "scanned"), [(None, False), ("", True)])
def test_the_cli_skips_pydantics_plugin_scan_unless_told(
    credit_repo: Path, setting: str | None, scanned: bool
) -> None:
    env = {k: v for k, v in _env().items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if setting is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = setting  # empty: plugins on
    done = subprocess.run(
        [sys.executable, "-c", _PLUGIN_PROBE],
        cwd=credit_repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "9 documents in 8 files are valid" in done.stdout, done.stdout + done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"scanned": scanned}
