#!/usr/bin/env python3
"""Start-up time of every mlform command against the import floor of its dependencies
(issue 12), from a normal install: a wheel of this working tree, installed non-editable
with its dependencies and compiled bytecode into a venv of its own.

    /work/venv/bin/python benchmarks/bench_startup.py [--runs 15] [--write-results]

Goal: for every command, the cold wall time (median) is <= 1.6 x its import floor: the
median of `python -c "import A, B, ..."` over exactly the third-party top-level packages
that command has imported when it exits (read from `sys.modules` in a run of it; packages
that `python -c pass` already imports, e.g. setuptools' `_distutils_hack`, are not counted).
The goal's verdict is on that floor, and only on it.

A second floor, "in use", is reported beside it and judges nothing: `import pydantic` is lazy
(pydantic 2), so the floor leaves out pydantic's model machinery, which any use of pydantic
pays. For a floor with pydantic in it, the in-use floor (`F2u`, ...) is the same imports, then
`from pydantic import BaseModel`, one one-field model and one validation, with pydantic's
plugin scan off (`PYDANTIC_DISABLE_PLUGINS=__all__`, as the mlform CLI sets it), i.e. the
least any program validating with pydantic pays. A floor without pydantic is its own in-use
floor.

Commands: every command and subcommand the CLI lists (walked in the installed CLI) run
with `--help`, `mlform --help` and `--version`, and real runs of the commands that need no
server or cluster: validate, compile, plan, show, status, models list, state list, schema
export/estimators, on examples/credit-risk copied into a git repository of its own.

Protocol: build the wheel (`python -m build --wheel`), install it into
<work>/venv (made once; dependencies pinned to the versions of the Python running this
script, so the numbers match the dev environment; pip's cache makes re-runs quick), check
that mlform is imported from that venv, not editable, with `__pycache__` written. Every
command runs once untimed (exit 0 and its expected output required; warms the file
cache). Then `--runs` rounds of every command, floor and reference, the order rotating each
round, wall time of the whole process (`time.perf_counter()` around `subprocess.run`).

Exit status: 0 every command meets the goal, 1 one misses it, 2 a precondition failed
(the build or the install fails, a command exits non-zero or prints the wrong thing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import (  # noqa: E402
    ROOT,
    Check,
    OtherLoad,
    Precondition,
    Series,
    alternate,
    fmt,
    git_revision,
    load_average,
    machine,
    tail,
    text_table,
    versions,
    wait_until_quiet,
    warm_files,
    write_section,
)

SECTION = "## Issue 12 — start-up"
GOAL = 1.6
EXAMPLE = ROOT / "examples" / "credit-risk"
PACKAGES = ("mlform", "pydantic", "pydantic-core", "ruamel.yaml", "click", "jinja2", "PyYAML")
# Real runs (args, text the output must contain); every command also runs with --help.
REAL: list[tuple[list[str], str]] = [
    (["validate"], "Success! 9 documents in 8 files are valid."),
    (["validate", "--format", "json"], '"valid": true'),
    (["compile"], "Compiled "),
    (["compile", "--check"], "Rendered files are up to date"),
    (["plan"], "mlform will perform the following actions:"),
    (["plan", "--format", "json"], '"applyable": true'),
    (["show", "saved.plan"], "mlform will perform the following actions:"),
    (["status"], "Environment default: OutOfSync"),
    (["models", "list"], "credit-risk"),
    (["state", "list"], "ENVIRONMENT"),
    (["schema", "export", "--check", "--dir", "schemas"], "up to date"),
    (["schema", "estimators"], "sklearn.linear_model.LogisticRegression"),
]
# What the commands' imports are read with: sys.modules once the command has exited.
_PROBE = """
import json, sys, sysconfig
sys.argv = ["mlform", *sys.argv[1:]]
site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
def third_party():
    return sorted({n.split(".")[0] for n, m in list(sys.modules.items())
                   if any((getattr(m, "__file__", None) or "").startswith(s) for s in site)})
code = 0
if len(sys.argv) > 1:
    from mlform.cli import main
    try:
        main()
    except SystemExit as done:
        code = done.code
print(json.dumps({"code": code, "packages": third_party()}), file=sys.stderr)
"""
# Every command and subcommand of the installed CLI: [[words...], ...]
_WALK = """
import json, click
from mlform.cli.app import cli
def walk(group, path):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield [*path, name]
        if isinstance(command, click.Group):
            yield from walk(command, [*path, name])
print(json.dumps(list(walk(cli, []))))
"""


def _run(argv: list[str | Path], cwd: Path, what: str) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise Precondition(f"{what} failed (exit {done.returncode}):\n{tail(done)}")
    return done.stdout


# ------------------------------------------------------------------------------------------
# The install
# ------------------------------------------------------------------------------------------
def install(work: Path, fresh: bool) -> tuple[Path, str]:
    """Build a wheel of this tree and install it (with its dependencies) into work/venv;
    return the venv's python and a line saying what was installed."""
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT], ROOT, "the wheel build"
    )
    (wheel,) = dist.glob("mlform-*.whl")
    venv = work / "venv"
    if fresh:
        shutil.rmtree(venv, ignore_errors=True)
    python = venv / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", venv], work, "creating the venv")
    pins = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in importlib.metadata.distributions()
        if d.metadata["Name"] and d.metadata["Name"].lower() != "mlform"
    )
    constraints = work / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-c", constraints, wheel], work, "installing the wheel's dependencies")
    _run([*pip, "--force-reinstall", "--no-deps", wheel], work, "installing the wheel")
    where = json.loads(
        _run(
            [
                python,
                "-c",
                "import json, mlform, importlib.metadata as m; d = m.distribution('mlform'); "
                "print(json.dumps([mlform.__file__, d.read_text('direct_url.json') or '']))",
            ],
            work,
            "importing mlform from the venv",
        )
    )
    package = Path(where[0]).parent
    if not package.is_relative_to(venv):
        raise Precondition(f"mlform is imported from {package}, not from {venv}")
    if '"editable": true' in where[1]:
        raise Precondition("mlform is installed editable in the venv")
    compiled = list(package.rglob("__pycache__/*.pyc"))
    if not (package / "cli" / "__pycache__").is_dir() or len(compiled) < 50:
        raise Precondition(f"no bytecode in {package} ({len(compiled)} .pyc files)")
    return python, f"{wheel.name}, non-editable, {len(compiled)} .pyc files in {package}"


def project(work: Path) -> Path:
    """The credit example in a git repository of its own, with a saved plan to show."""
    repo = work / "credit-risk"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(
        EXAMPLE, repo, ignore=shutil.ignore_patterns("artifacts", ".dvc", "dvc.lock", "__pycache__")
    )
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=bench", "-c", "user.email=b@b", "commit", "-qm", "specs"],
    ):
        _run(argv, repo, " ".join(argv))
    return repo


# ------------------------------------------------------------------------------------------
# Commands and floors
# ------------------------------------------------------------------------------------------
def imports_of(python: Path, args: list[str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [str(python), "-c", _PROBE, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    try:
        report = json.loads(done.stderr.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise Precondition(
            f"reading the imports of `mlform {' '.join(args)}`:\n{tail(done)}"
        ) from None
    if report["code"] not in (0, None):
        raise Precondition(f"`mlform {' '.join(args)}` exited {report['code']}:\n{tail(done)}")
    return list(report["packages"])


def expecting(text: str) -> Check:
    def check(procs: list[subprocess.CompletedProcess[str]]) -> str | None:
        out = procs[-1].stdout
        return None if text in out else f"expected {text!r} in its output, got:\n{out[-600:]}"

    return check


def commands(python: Path, repo: Path) -> list[tuple[list[str], str]]:
    """(args, expected output) of every command measured."""
    walked: list[list[str]] = json.loads(_run([python, "-c", _WALK], repo, "walking the CLI"))
    found: list[tuple[list[str], str]] = [
        (["--help"], "Commands:"),
        (["--version"], "mlform, version"),
    ]
    found += [([*words, "--help"], "Usage: mlform " + " ".join(words)) for words in walked]
    return found + REAL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up of every mlform command (issue 12).")
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each (default 15)")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "startup")
    parser.add_argument("--fresh", action="store_true", help="make the venv anew")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, help="wait up to S seconds for a quiet machine"
    )
    parser.add_argument("--write-results", action="store_true", help=f"write '{SECTION[3:]}'")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        return run(args, started)
    except Precondition as exc:
        print(f"\nPRECONDITION FAILED: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, started: float) -> int:
    args.work.mkdir(parents=True, exist_ok=True)
    print("Building the wheel and installing it ...", flush=True)
    python, installed = install(args.work, args.fresh)
    print(f"Installed {installed}")
    mlform = python.parent / "mlform"
    repo = project(args.work)
    _run([mlform, "plan", "--out", "saved.plan"], repo, "mlform plan --out saved.plan")
    _run([mlform, "schema", "export", "--dir", "schemas"], repo, "mlform schema export")

    baseline = set(imports_of(python, [], repo))
    rows: list[tuple[Series, list[str]]] = []
    floors: dict[tuple[str, ...], Series] = {
        (): Series("F0", [str(python), "-c", "pass"], "python -c pass", cwd=repo)
    }
    for words, expected in commands(python, repo):
        shown = "mlform " + " ".join(words)
        series = Series(shown, [str(mlform), *words], shown, cwd=repo, check=expecting(expected))
        packages = tuple(
            p for p in imports_of(python, words, repo) if p not in baseline | {"mlform"}
        )
        if packages not in floors:
            code = f"import {', '.join(packages)}"
            floors[packages] = Series(
                f"F{len(floors)}", [str(python), "-c", code], f'python -c "{code}"', cwd=repo
            )
        rows.append((series, list(packages)))
    in_use = {
        packages: in_use_floor(floor, packages, python, repo) for packages, floor in floors.items()
    }
    validate_floor = next(p for s, p in rows if s.label == "mlform validate")
    reference_code = (
        f"import {', '.join(validate_floor)}\nfrom pydantic import BaseModel\n"
        "class M(BaseModel):\n    x: int"
    )
    reference = Series(
        "ref",
        [str(python), "-c", reference_code],
        "validate's floor, then `from pydantic import BaseModel` and one model "
        "`class M(BaseModel): x: int`",
        cwd=repo,
    )
    extra_floors = [u for p, u in in_use.items() if u is not floors[p]]
    everything = [s for s, _ in rows] + list(floors.values()) + extra_floors + [reference]

    warmed = warm_files([repo, python.parent.parent])
    print(
        f"Warmed the file cache ({warmed / 1024 / 1024:.0f} MiB read); {len(everything)} "
        "commands, each run once untimed ...",
        flush=True,
    )
    for s in everything:
        s.run_untimed()
    quiet = wait_until_quiet(args.wait_quiet) if args.wait_quiet else "not waited for"
    load_before = load_average()
    meter = OtherLoad().start()
    print(f"Timing {args.runs} rounds of {len(everything)} commands ...", flush=True)
    alternate(everything, args.runs, lambda i: print(f"  round {i}/{args.runs}", flush=True))
    others, load_after = meter.describe(), load_average()

    table = [
        (
            "command",
            "median",
            "p90",
            "floor",
            "floor median",
            "ratio",
            f"≤ {GOAL}x",
            "floor in use",
            "in-use median",
            "in-use ratio",
        )
    ]
    missed, missed_in_use = [], []
    for series, packages in rows:
        floor, used = floors[tuple(packages)], in_use[tuple(packages)]
        ratio, ratio_in_use = series.median / floor.median, series.median / used.median
        ok = ratio <= GOAL
        if not ok:
            missed.append(series.label)
        if ratio_in_use > GOAL:
            missed_in_use.append(series.label)
        table.append(
            (
                series.label,
                fmt(series.median),
                fmt(series.p90),
                floor.label,
                fmt(floor.median),
                f"{ratio:.2f}x",
                "PASS" if ok else "FAIL",
                used.label,
                fmt(used.median),
                f"{ratio_in_use:.2f}x",
            )
        )
    extra = [("floor", "command", "median", "p90")] + [
        (s.label, s.shown, fmt(s.median), fmt(s.p90))
        for s in [*floors.values(), *extra_floors, reference]
    ]
    elapsed = time.perf_counter() - started
    print()
    print(text_table(table))
    print()
    print(text_table(extra))
    print(
        f"\n{len(rows) - len(missed)} of {len(rows)} commands meet the goal (≤ {GOAL}x the "
        f"floor); {len(rows) - len(missed_in_use)} of {len(rows)} are ≤ {GOAL}x the floor in "
        f"use (reported, not the goal); load average "
        f"{load_before} before, {load_after} after; other processes used {others}."
    )
    print(f"Benchmark wall time: {elapsed:.0f} s")
    if args.write_results:
        write_section(
            SECTION,
            render(
                args,
                table,
                extra,
                installed,
                python,
                quiet,
                load_before,
                load_after,
                others,
                len(rows) - len(missed),
                len(rows) - len(missed_in_use),
                len(rows),
                elapsed,
            ),
        )
        print(f"Wrote the '{SECTION[3:]}' section of benchmarks/RESULTS.md.")
    return 1 if missed else 0


def _markdown(rows: list[tuple[str, ...]]) -> list[str]:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in body]


def render(
    args: argparse.Namespace,
    table: list[tuple[str, ...]],
    extra: list[tuple[str, ...]],
    installed: str,
    python: Path,
    quiet: str,
    load_before: str,
    load_after: str,
    others: str,
    passed: int,
    passed_in_use: int,
    total: int,
    elapsed: float,
) -> str:
    host = machine(str(python))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION,
        "",
        f"Measured {now} at commit {git_revision()} with `python benchmarks/bench_startup.py "
        f"--runs {args.runs}{f' --wait-quiet {args.wait_quiet:g}' if args.wait_quiet else ''} "
        f"--write-results` (whole run: {elapsed:.0f} s).",
        "",
        "**Machine**",
        "",
        f"- CPU: {host['cpu']}; {host['cores']}",
        f"- RAM: {host['ram']}",
        f"- Python: {host['python']}",
        f"- OS: {host['os']}",
        f"- Packages: {versions(str(python), PACKAGES)}",
        f"- Install: {installed}",
        f"- Load: load average {load_before} before timing, {load_after} after; other processes "
        f"used {others} while it ran; quiet wait: {quiet}",
        "",
        f"**Goal**: each command's cold wall time ≤ {GOAL}× the import floor of its own "
        "third-party packages (those in `sys.modules` when it exits). "
        f"**{passed} of {total} commands meet it.** Beside it, not judged: {passed_in_use} of "
        f"{total} are ≤ {GOAL}× the floor in use (the floor, plus what any use of pydantic "
        "pays: `from pydantic import BaseModel`, one one-field model, one validation, plugin "
        "scan off). Median and nearest-rank p90 of "
        f"{args.runs} fresh processes each, all commands alternating; `mlform …` is the "
        "venv's console script run in the credit example (a git repository of its own).",
        "",
        *_markdown([table[0], *[(f"`{r[0]}`", *r[1:]) for r in table[1:]]]),
        "",
        "Floors, floors in use (`…u`: the floor's imports, then one pydantic model built and "
        "used with plugins off), and a reference (what pydantic costs beyond `import pydantic` "
        "for one model: importing its model machinery and, at the first validator, "
        "`importlib.metadata` for its plugin entry points):",
        "",
        *_markdown(
            [extra[0], *[(r[0], r[1] if r[0] == "ref" else f"`{r[1]}`", *r[2:]) for r in extra[1:]]]
        ),
        "",
    ]
    return "\n".join(lines)


def in_use_floor(floor: Series, packages: tuple[str, ...], python: Path, repo: Path) -> Series:
    """The floor plus what any use of pydantic pays; a floor without pydantic is its own."""
    if "pydantic" not in packages:
        return floor
    code = (
        f"import {', '.join(packages)}\nfrom pydantic import BaseModel\n"
        "class M(BaseModel):\n    x: int\nM(x=1)"
    )
    shown = f"PYDANTIC_DISABLE_PLUGINS=__all__ python -c {json.dumps(code)}"
    return Series(
        f"{floor.label}u",
        [str(python), "-c", code],
        shown,
        cwd=repo,
        env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "__all__"},
    )


if __name__ == "__main__":
    sys.exit(main())
