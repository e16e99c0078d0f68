#!/usr/bin/env python3
"""Benchmarks of `mlform validate` (issue 2), both targets in one run.

    /work/venv/bin/python benchmarks/bench_validate.py [--write-results]

Target 1: `mlform validate examples/credit-risk` in a cold process takes <= 300 ms (median
          wall time of --runs runs), and imports none of scikit-learn, onnx, onnxruntime, dvc
          or pandas (checked twice: `sys.modules` after a run, and `python -X importtime`).
Target 2: on a generated repository of 1,000 documents (--models 200, one document per file,
          see gen_repo.py) plus mlform.yaml, `mlform validate` takes <= 1 s and less than
          `check-jsonschema --schemafile schemas/mlform.schema.json <the same files>`.

Wall time is `time.perf_counter()` around `subprocess.run`. Before timing, every command runs
once (exit 0 is required: the documents are valid for both tools) and every file is read once,
so the OS file cache and Python's bytecode caches are warm. The commands of a target then run
alternately, the order flipping each round, so machine noise hits them alike.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a precondition fails
(a tool is missing, or exits non-zero on the documents).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common  # noqa: E402
import gen_repo  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    ROOT,
    Precondition,
    Series,
    alternate,
    find_tool,
    fmt,
    git_revision,
    interpreter_of,
    machine,
    render_table,
    versions,
    warm_files,
)
from _common import tail as _tail  # noqa: E402

EXAMPLE = "examples/credit-risk"
SCHEMA = "schemas/mlform.schema.json"
SECTION = "## Issue 2 — validate"

LIMIT_EXAMPLE_MS = 300.0
LIMIT_REPO_MS = 1000.0
# Packages that must not be imported by `mlform validate` (target 1).
FORBIDDEN = ("sklearn", "onnx", "onnxruntime", "dvc", "pandas")
# Reported too, but not a failure on their own: heavy packages the forbidden ones pull in.
ALSO_WATCHED = ("skl2onnx", "numpy", "scipy", "pyarrow", "joblib", "jinja2")
# Versions recorded with the results.
PACKAGES = (
    "mlform",
    "pydantic",
    "pydantic-core",
    "ruamel.yaml",
    "click",
    "check-jsonschema",
    "jsonschema",
)


# ------------------------------------------------------------------------------------------
# The import claim
# ------------------------------------------------------------------------------------------
_SYS_MODULES_PROBE = """
import json, sys
from mlform.cli import main
try:
    main(["validate", sys.argv[1]])
except SystemExit as exc:
    code = exc.code
json.dump({"exit": code, "modules": sorted(sys.modules)}, open(sys.argv[2], "w"))
"""


@dataclass
class Imports:
    modules_at_exit: int
    forbidden_at_exit: list[str]
    watched_at_exit: list[str]
    importtime_modules: int
    forbidden_importtime: list[str]
    watched_importtime: list[str]
    import_ms_total: float
    import_ms_by_package: list[tuple[str, float]]


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def import_check(python: str, target: str) -> Imports:
    """Modules loaded by `mlform validate TARGET`: via sys.modules at exit and -X importtime."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.json"
        proc = subprocess.run(
            [python, "-c", _SYS_MODULES_PROBE, target, str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if not out.exists():
            raise Precondition(f"the sys.modules probe failed:\n{_tail(proc)}")
        probe = json.loads(out.read_text())
    if probe["exit"] not in (0, None):
        raise Precondition(
            f"the sys.modules probe: `mlform validate {target}` exited {probe['exit']}:\n{_tail(proc)}"
        )
    modules: list[str] = probe["modules"]
    tops = {_top(m) for m in modules}

    proc = subprocess.run(
        [python, "-X", "importtime", "-m", "mlform", "validate", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise Precondition(
            f"`python -X importtime -m mlform validate {target}` exited {proc.returncode}:\n{_tail(proc)}"
        )
    rows = []  # (self us, cumulative us, depth, module)
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    imported = {r[3] for r in rows}
    itops = {_top(m) for m in imported}
    # Self time summed per top-level package (a module's self time includes the code its body
    # runs, e.g. pydantic building the models a spec module defines).
    per_package: dict[str, int] = {}
    for self_us, _cum, _depth, name in rows:
        per_package[_top(name)] = per_package.get(_top(name), 0) + self_us
    return Imports(
        modules_at_exit=len(modules),
        forbidden_at_exit=sorted(p for p in FORBIDDEN if p in tops),
        watched_at_exit=sorted(p for p in ALSO_WATCHED if p in tops),
        importtime_modules=len(imported),
        forbidden_importtime=sorted(p for p in FORBIDDEN if p in itops),
        watched_importtime=sorted(p for p in ALSO_WATCHED if p in itops),
        import_ms_total=sum(r[0] for r in rows) / 1000.0,
        import_ms_by_package=sorted(
            ((k, v / 1000.0) for k, v in per_package.items()), key=lambda kv: -kv[1]
        )[:12],
    )


# ------------------------------------------------------------------------------------------
# Profiling (--profile): where the time of the big repository goes, in process.
# ------------------------------------------------------------------------------------------
_PROFILE = """
import cProfile, pstats, sys, io
from pathlib import Path
prof = cProfile.Profile()
prof.enable()
from mlform.validation import validate
result = validate(Path(sys.argv[1]))
prof.disable()
out = io.StringIO()
stats = pstats.Stats(prof, stream=out)
stats.sort_stats("cumulative").print_stats(25)
stats.sort_stats("tottime").print_stats(15)
print(out.getvalue())
"""


def profile(python: str, repo: str) -> str:
    proc = subprocess.run(
        [python, "-c", _PROFILE, repo], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of `mlform validate` (issue 2).")
    parser.add_argument(
        "--runs", type=int, default=20, help="timed runs per command, target 1 (default 20)"
    )
    parser.add_argument(
        "--repo-runs", type=int, default=10, help="timed runs per tool, target 2 (default 10)"
    )
    parser.add_argument(
        "--models",
        type=int,
        default=200,
        help="models in the generated repository (5 documents each)",
    )
    parser.add_argument(
        "--work", type=Path, default=HERE / ".work", help="where the repository is generated"
    )
    parser.add_argument("--mlform", help="the mlform executable (default: next to this Python)")
    parser.add_argument("--check-jsonschema", dest="cjs", help="the check-jsonschema executable")
    parser.add_argument(
        "--profile", action="store_true", help="also print -X importtime and cProfile summaries"
    )
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write the '{SECTION[3:]}' section of RESULTS.md",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        return run(args, started)
    except Precondition as exc:
        print(f"\nPRECONDITION FAILED: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, started: float) -> int:
    mlform = find_tool("mlform", args.mlform)
    cjs = find_tool("check-jsonschema", args.cjs)
    python = interpreter_of(mlform)
    repo = args.work / f"repo-{args.models}"
    repo_rel = os.path.relpath(repo, ROOT)

    # ---- Generate the repository (deterministic) and list its spec files.
    gen_start = time.perf_counter()
    if repo.exists():
        if not (repo / gen_repo.MARKER).exists():
            raise Precondition(
                f"{repo} exists and was not generated by gen_repo.py; remove it or pass --work"
            )
        shutil.rmtree(repo)
    files = gen_repo.generate(args.models, repo)
    files_rel = [os.path.relpath(f, ROOT) for f in files]
    documents = len(files) - 1
    print(
        f"Generated {repo_rel}: {documents} documents in {documents} files + mlform.yaml "
        f"({(time.perf_counter() - gen_start) * 1000:.0f} ms)"
    )

    # ---- The commands.
    baseline = Series("python -c pass", [python, "-c", "pass"], f"{python} -c pass")
    example = Series(
        "mlform validate (example)",
        [str(mlform), "validate", EXAMPLE],
        f"mlform validate {EXAMPLE}",
    )
    ml_repo = Series(
        "mlform validate (1,000 docs)",
        [str(mlform), "validate", repo_rel],
        f"mlform validate {repo_rel}",
    )
    cjs_repo = Series(
        "check-jsonschema (same files)",
        [str(cjs), "--schemafile", SCHEMA, *files_rel],
        f"check-jsonschema --schemafile {SCHEMA} {repo_rel}/mlform.yaml {repo_rel}/ml/*/*.yaml",
    )

    # ---- Preconditions, which also warm the caches: both tools accept the documents.
    warmed = warm_files([ROOT / EXAMPLE, ROOT / SCHEMA, repo])
    print(f"Warmed the file cache ({warmed / 1024:.0f} KiB read).")
    for s in (example, ml_repo, cjs_repo):
        proc = subprocess.run(s.argv, cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise Precondition(
                f"`{s.shown}` exited {proc.returncode}; the documents must be valid for both tools:\n{_tail(proc)}"
            )
    report = subprocess.run(
        [str(mlform), "validate", repo_rel, "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    counts = json.loads(report.stdout)
    if counts["error_count"] or counts["warning_count"]:
        raise Precondition(
            f"the generated repository should validate cleanly; got {counts['error_count']} errors, "
            f"{counts['warning_count']} warnings:\n{report.stdout[:2000]}"
        )
    print(
        f"Preconditions: both tools exit 0 on all {len(files)} files; mlform reports 0 errors, 0 warnings."
    )

    # ---- The import claim.
    imports = import_check(python, EXAMPLE)
    print(
        f"Import check: {imports.modules_at_exit} modules in sys.modules after the run; "
        f"forbidden found: {imports.forbidden_at_exit or 'none'}; -X importtime saw "
        f"{imports.importtime_modules} modules, forbidden found: {imports.forbidden_importtime or 'none'}."
    )

    # ---- Timing, target 1 then target 2, each alternating its commands.
    print(
        f"Timing target 1: {args.runs} rounds of [{baseline.label} | {example.shown}] ...",
        flush=True,
    )
    alternate([baseline, example], args.runs)
    print(
        f"Timing target 2: {args.repo_runs} rounds of [mlform validate | check-jsonschema] ...",
        flush=True,
    )
    alternate([ml_repo, cjs_repo], args.repo_runs)

    ratio = cjs_repo.median / ml_repo.median
    heavy = sorted(set(imports.forbidden_at_exit) | set(imports.forbidden_importtime))
    results = [
        (
            "1",
            f"`{example.shown}`: median ≤ {LIMIT_EXAMPLE_MS:.0f} ms",
            example.median <= LIMIT_EXAMPLE_MS,
            f"{fmt(example.median)}",
        ),
        (
            "1",
            "no " + ", ".join(FORBIDDEN) + " import",
            not heavy,
            "none" if not heavy else ", ".join(heavy),
        ),
        (
            "2",
            f"`mlform validate` on {documents} docs: median ≤ {LIMIT_REPO_MS:.0f} ms",
            ml_repo.median <= LIMIT_REPO_MS,
            f"{fmt(ml_repo.median)}",
        ),
        (
            "2",
            "mlform faster than check-jsonschema (median)",
            ml_repo.median < cjs_repo.median,
            f"{ratio:.2f}× faster",
        ),
    ]
    elapsed = time.perf_counter() - started

    table = render_table([baseline, example, ml_repo, cjs_repo])
    print()
    print(table)
    print()
    print(f"check-jsonschema / mlform (medians): {ratio:.2f}")
    for target, what, ok, value in results:
        print(f"  target {target}: {'PASS' if ok else 'MISS'}  {what} — {value}")
    print(
        f"  import-time breakdown (-X importtime, self time summed per top-level package, of "
        f"{imports.import_ms_total:.0f} ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in imports.import_ms_by_package[:8])
    )
    print(f"Benchmark wall time: {elapsed:.0f} s")

    if args.profile:
        print(
            "\n--- cProfile of validate() on the generated repository (in process, imports included) ---"
        )
        print(profile(python, repo_rel))

    if args.write_results:
        section = render_section(
            args=args,
            series=[baseline, example, ml_repo, cjs_repo],
            results=results,
            ratio=ratio,
            imports=imports,
            host=machine(python),
            tool_versions=versions(python, PACKAGES),
            documents=documents,
            files=len(files),
            elapsed=elapsed,
        )
        write_section(section)
        print(f"Wrote the '{SECTION[3:]}' section of {os.path.relpath(RESULTS, ROOT)}.")
    return 0 if all(ok for *_, ok, _ in results) else 1


def render_section(
    *,
    args: argparse.Namespace,
    series: list[Series],
    results: list[tuple[str, str, bool, str]],
    ratio: float,
    imports: Imports,
    host: dict[str, str],
    tool_versions: str,
    documents: int,
    files: int,
    elapsed: float,
) -> str:
    baseline, example, ml_repo, cjs_repo = series
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        SECTION,
        "",
        f"Measured {now} at commit {git_revision()} with "
        f"`python benchmarks/bench_validate.py --runs {args.runs} --repo-runs {args.repo_runs} --models {args.models}"
        f"{' --write-results' if args.write_results else ''}` (whole run: {elapsed:.0f} s).",
        "",
        "**Machine**",
        "",
        f"- CPU: {host['cpu']}; {host['cores']}",
        f"- RAM: {host['ram']}",
        f"- Python: {host['python']}",
        f"- OS: {host['os']}",
        f"- Packages: {tool_versions}",
        "",
        "**Commands** (run from the repository root; wall time of the whole process, "
        "`time.perf_counter()` around `subprocess.run`, file cache warm, each command run once untimed first)",
        "",
        "```sh",
        f"python benchmarks/gen_repo.py --models {args.models} --out {os.path.relpath(args.work / f'repo-{args.models}', ROOT)}",
        example.shown,
        ml_repo.shown,
        cjs_repo.shown + f"   # {files} paths",
        "```",
        "",
        "**Results** (ms; p90 is nearest-rank; commands of a target alternate, order flipped every round)",
        "",
        "| target | command | runs | median | p90 | min |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for target, s in (("1 (floor)", baseline), ("1", example), ("2", ml_repo), ("2", cjs_repo)):
        shown = (
            "`python -c pass` (interpreter start-up, for reference)"
            if s is baseline
            else f"`{s.shown}`"
        )
        out.append(
            f"| {target} | {shown} | {len(s.samples_ms)} | {s.median:.0f} | {s.p90:.0f} | {s.minimum:.0f} |"
        )
    out += [
        "",
        f"Ratio check-jsonschema / mlform on the same {files} files (medians): **{ratio:.2f}×** "
        f"(p90: {cjs_repo.p90 / ml_repo.p90:.2f}×, min: {cjs_repo.minimum / ml_repo.minimum:.2f}×).",
        "",
        "| target | requirement | measured | result |",
        "| --- | --- | --- | --- |",
    ]
    for target, what, ok, value in results:
        out.append(f"| {target} | {what} | {value} | {'PASS' if ok else '**MISS**'} |")
    by_package = ", ".join(f"{k} {v:.0f}" for k, v in imports.import_ms_by_package[:8])
    out += [
        "",
        "**Import check** (target 1): after `mlform validate examples/credit-risk`, "
        f"`sys.modules` holds {imports.modules_at_exit} modules; "
        f"forbidden ({', '.join(FORBIDDEN)}) found: **{', '.join(imports.forbidden_at_exit) or 'none'}**; "
        f"also watched ({', '.join(ALSO_WATCHED)}) found: {', '.join(imports.watched_at_exit) or 'none'}. "
        f"`python -X importtime -m mlform validate examples/credit-risk` lists {imports.importtime_modules} modules, "
        f"forbidden found: **{', '.join(imports.forbidden_importtime) or 'none'}**. "
        f"Import self-time by top-level package (ms, under -X importtime, total {imports.import_ms_total:.0f}): {by_package}.",
        "",
        "**Notes**",
        "",
        f"- The generated repository ({documents} documents: per model a Dataset, FeatureSet, Training, Model and "
        "Deployment, one document per file, plus `mlform.yaml`) is deterministic (`gen_repo.py --seed 0`); it varies "
        "the problem (4 classification and 3 regression targets), columns, transforms, all 31 allowlisted estimators, "
        "their parameters and tuning (grid/random/halving), gates (with fairness gates) and deployment targets "
        "(local/kserve/triton). Every Dataset points at one generated `data/shared.csv`, so there is no W002. "
        "Before timing, both tools must exit 0 and mlform must report 0 errors and 0 warnings.",
        f"- Both tools get the same {files} files: the {documents} documents and `mlform.yaml`.",
        "- The comparison is not like for like: check-jsonschema only checks each document against the exported "
        "JSON Schema. `mlform validate` also discovers the files from the Project, keeps line/column positions, "
        "validates each document with its kind's pydantic model, and runs the cross-document checks "
        "(unique names, references, paths and data sources on disk, columns vs. transforms, estimator "
        "parameters vs. the allowlist, metrics vs. task, gates, deployment ports/targets).",
    ]
    return "\n".join(out) + "\n"


def write_section(section: str) -> None:
    _common.write_section(SECTION, section)


if __name__ == "__main__":
    sys.exit(main())
