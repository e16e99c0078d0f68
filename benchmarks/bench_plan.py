#!/usr/bin/env python3
"""Benchmarks of `mlform plan` with nothing to do (issue 5), all targets in one run.

    /work/venv/bin/python benchmarks/bench_plan.py [--write-results]

Target 1: on the credit-risk example, really applied (`mlform init DIR --example
          credit-risk` with a free port in ml/deployment.yaml, commit, `mlform apply
          --auto-approve`: the pipeline runs, the version is registered, the local server
          starts), `mlform plan --detailed-exitcode` in a cold process takes <= 0.5 s (median
          wall time of --runs runs) and exits 0 (nothing to do). The local server keeps
          running while plan is timed (plan checks it: a stopped server is drift) and is
          stopped at the end (`mlform server stop credit-risk-local`). `mlform validate` is
          timed alternately, as the floor plan builds on.
Target 2: on a generated repository of 200 models (gen_repo.py --targets kserve,triton: the
          deployments are cluster targets, so no local server is involved), `mlform plan
          --env prod --detailed-exitcode` takes <= 3 s and exits 0.
Target 3: how plan time grows with the number of models (--sizes, default 50 100 200 400):
          reported, no threshold.

Applying hundreds of pipelines is not feasible here, so each generated repository's state is
synthesized with mlform's own code: after `mlform compile` and a commit,
`desired_state(mlform.load(root, "prod"), "prod")` gives the desired resources, and every resource gets
the record `apply.Context.record` writes (status "applied", outputs {}), saved with
`State.save()`. plan must then exit 0 before anything is timed. What that skips: no pipeline
ran, so no outputs' sizes and mtimes are recorded or checked, and no deployment files were
rendered (cluster deployments record none to check); the rendered dvc.yaml and params.yaml are
real and checked by sha256 as after an apply.

Wall time is `time.perf_counter()` around `subprocess.run`, after one untimed run of each
command; the commands of a target alternate, the order rotating every round. One in-process
run per repository also times plan's phases (validation, graph, rendering the pipeline files,
resources, state, observation, the plan, its text).

Exit status: 0 when every target is met, 1 when one is missed, 2 when a precondition fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common  # noqa: E402
import bench_pipeline  # noqa: E402
import gen_repo  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    ROOT,
    OtherLoad,
    Precondition,
    Series,
    alternate,
    find_tool,
    fmt,
    git_revision,
    interpreter_of,
    load_average,
    machine,
    render_table,
    tail,
    text_table,
    versions,
    wait_until_quiet,
)

SECTION = "## Issue 5 — plan"
MARKER = ".mlform-bench-plan"  # a folder this benchmark may delete
DEPLOYMENT = "credit-risk-local"
LIMIT_EXAMPLE_MS = 500.0
LIMIT_REPO_MS = 3000.0
REPO_MODELS = 200  # target 2's size
ENVIRONMENT = "prod"  # the generated repositories' kserve deployments are declared for prod
TARGETS = "kserve,triton"
PACKAGES = (
    "mlform",
    "pydantic",
    "pydantic-core",
    "ruamel.yaml",
    "pyyaml",
    "jinja2",
    "click",
    "dvc",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "mlform benchmark",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "mlform benchmark",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
}

# Run by mlform's Python: the state of a repository as if `mlform apply` had applied it.
SYNTHESIZE = """
import json, sys
from pathlib import Path
import mlform
from mlform.reconcile.run import desired_state, revision
from mlform.reconcile.state import State, now

root, environment = Path(sys.argv[1]), sys.argv[2] or None
wanted = desired_state(mlform.load(root, environment), environment)
state = State.load(wanted.graph.root, wanted.environment)
for address, resource in wanted.resources.items():
    # What apply.Context.record writes for an applied resource (outputs: none observed).
    state.resources[address] = {
        "type": resource.type,
        "name": resource.name,
        "spec_hash": resource.spec_hash,
        "meta_hash": resource.meta_hash,
        "spec": resource.spec,
        "meta": resource.meta,
        "depends_on": list(resource.depends_on),
        "prevent_destroy": resource.prevent_destroy,
        "status": "applied",
        "outputs": {},
        "applied_at": now(),
    }
head = revision(wanted.graph.root)
state.applied_revision = state.attempted_revision = head
state.save()
kinds = {}
for resource in wanted.resources.values():
    kinds[resource.type] = kinds.get(resource.type, 0) + 1
print(json.dumps({"state": state.where, "resources": len(wanted.resources), "kinds": kinds}))
"""

# Run by mlform's Python: plan's phases, timed in one fresh process (as run.plan_for does
# them). A phase that fails to run reports the error instead (the code may have moved on).
PHASES = """
import json, sys, time
clock = time.perf_counter
start = clock()
out = {}
try:
    import hashlib
    from pathlib import Path
    from mlform.project import ProjectGraph
    from mlform.reconcile import report
    from mlform.reconcile.observe import observe
    from mlform.reconcile.plan import plan
    from mlform.reconcile.resources import desired
    from mlform.reconcile.run import revision
    from mlform.reconcile.state import DEFAULT_ENV, State
    from mlform.targets.dvc import render_pipeline
    from mlform.validation import validate
    out["imports"] = clock() - start
    try:  # how much of rendering is the YAML emitter (every YAML dump of the process)
        import yaml

        dumping = yaml.dump
        out["  of which YAML dumps (PyYAML/libyaml)"] = 0.0

        def timed_dump(*args, **kwargs):
            t = clock()
            try:
                return dumping(*args, **kwargs)
            finally:
                out["  of which YAML dumps (PyYAML/libyaml)"] += clock() - t

        yaml.dump = timed_dump
    except ImportError:
        pass
    root, environment = Path(sys.argv[1]), sys.argv[2] or None
    t = clock(); result = validate(root, environment); out["validate"] = clock() - t
    t = clock(); graph = ProjectGraph.of(result.workspace); out["graph"] = clock() - t
    t = clock(); files = {f.path: f for f in render_pipeline(graph)}
    shas = {p: hashlib.sha256(f.data).hexdigest() for p, f in files.items()}
    out["render dvc.yaml + params.yaml"] = clock() - t
    t = clock(); resources = desired(graph, shas, environment); out["resources"] = clock() - t
    env = environment or DEFAULT_ENV
    t = clock(); state = State.load(graph.root, env); out["load state"] = clock() - t
    t = clock(); observed = observe(graph.root, state); out["observe"] = clock() - t
    t = clock(); made = plan(resources, state, observed, env, revision(graph.root))
    out["plan (incl. git rev-parse)"] = clock() - t
    t = clock(); report.text(made, None); out["text"] = clock() - t
    out["changes"] = sum(1 for c in made.changes if c.is_change)
except Exception as error:
    out["error"] = f"{type(error).__name__}: {error}"
out["total"] = clock() - start
print(json.dumps(out))
"""


# ------------------------------------------------------------------------------------------
# Set-up
# ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def sh(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Precondition(f"`{' '.join(argv)}` (in {cwd}) exited {proc.returncode}:\n{tail(proc)}")
    return proc


def commit(folder: Path, env: dict[str, str], message: str) -> None:
    sh(["git", "add", "-A"], folder, env)
    sh(
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message],
        folder,
        env,
    )


def fresh(folder: Path) -> None:
    """Delete ``folder`` if this benchmark made it; refuse anything else."""
    if folder.exists():
        if not (folder / MARKER).exists() and not (folder / gen_repo.MARKER).exists():
            raise Precondition(
                f"{folder} exists and was not made by bench_plan.py; remove it or pass --work"
            )
        shutil.rmtree(folder)


def stop_server(mlform: Path, project: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [str(mlform), "server", "stop", DEPLOYMENT, "--project", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return (proc.stdout + proc.stderr).strip()


def apply_example(mlform: Path, project: Path, env: dict[str, str]) -> tuple[int, float, str]:
    """`mlform init --example credit-risk`, a free port, commit, `mlform apply`.
    Returns (port, apply's wall time in ms, apply's summary line)."""
    if project.exists() and (project / MARKER).exists():
        stop_server(mlform, project, env)  # a server an interrupted run left behind
    fresh(project)
    # A repository of its own first: under benchmarks/.work the folder is inside mlform's
    # work tree, where it is git-ignored, and `dvc init --subdir` refuses an ignored folder.
    project.mkdir(parents=True)
    sh(["git", "init", "-q"], project, env)
    sh(
        [str(mlform), "init", str(project), "--example", "credit-risk", "--force"],
        project.parent,
        env,
    )
    (project / MARKER).write_text("made by benchmarks/bench_plan.py; deleted by its next run\n")
    deployment = project / "ml" / "deployment.yaml"
    text = deployment.read_text()
    port = free_port()
    if "local: {port: 8085}" not in text:
        raise Precondition(f"{deployment} has no `local: {{port: 8085}}` to give a free port")
    deployment.write_text(text.replace("local: {port: 8085}", f"local: {{port: {port}}}", 1))
    commit(project, env, "credit-risk example")
    start = time.perf_counter()
    proc = sh([str(mlform), "apply", "--auto-approve"], project, env)
    elapsed = (time.perf_counter() - start) * 1000.0
    summary = next(
        (line for line in proc.stdout.splitlines() if line.startswith("Apply complete")), ""
    )
    if not summary:
        raise Precondition(f"`mlform apply --auto-approve` did not complete:\n{tail(proc)}")
    return port, elapsed, summary


@dataclass
class Repo:
    models: int
    path: Path
    resources: int = 0
    kinds: dict[str, int] | None = None
    documents: int = 0
    setup_s: float = 0.0
    phases: dict[str, Any] | None = None
    rendered_bytes: int = 0  # dvc.yaml + params.yaml


def make_repo(models: int, work: Path, mlform: Path, python: str, env: dict[str, str]) -> Repo:
    """Generate, commit, compile, commit, synthesize the applied state."""
    start = time.perf_counter()
    repo = Repo(models, work / f"repo-{models}")
    fresh(repo.path)
    files = gen_repo.generate(models, repo.path, seed=0, targets=tuple(TARGETS.split(",")))
    repo.documents = len(files) - 1
    sh(["git", "init", "-q"], repo.path, env)
    commit(repo.path, env, f"{models} generated models")
    sh([str(mlform), "compile"], repo.path, env)
    commit(repo.path, env, "mlform compile")
    proc = sh([python, "-c", SYNTHESIZE, str(repo.path), ENVIRONMENT], repo.path, env)
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    repo.resources, repo.kinds = int(info["resources"]), dict(info["kinds"])
    repo.rendered_bytes = sum((repo.path / f).stat().st_size for f in ("dvc.yaml", "params.yaml"))
    repo.setup_s = time.perf_counter() - start
    return repo


def expect_nothing(procs: list[subprocess.CompletedProcess[str]]) -> str | None:
    text = procs[0].stdout
    if "No changes" not in text:
        return "expected 'No changes', got:\n" + "\n".join(text.strip().splitlines()[-15:])
    return None


def phases(python: str, root: Path, environment: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", PHASES, str(root), environment],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": tail(proc)}
    return data


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares line through (models, ms): (ms per model, ms at 0 models)."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return slope, my - slope * mx


def render_note(repos: list[Repo]) -> str:
    """Where the generated repository of target 2 spends plan's time, from its phases."""
    repo = next((r for r in repos if r.models == REPO_MODELS), None)
    data = repo.phases if repo else None
    keys = ("total", "render dvc.yaml + params.yaml", "  of which YAML dumps (PyYAML/libyaml)")
    if repo is None or not data or any(k not in data for k in keys):
        return ""
    total, render, dumps = (float(data[k]) * 1000 for k in keys)
    return (
        f" At {REPO_MODELS} models, rendering takes {render:,.0f} of {total:,.0f} ms "
        f"({render / total:.0%}), {dumps:,.0f} ms of it in libyaml's YAML emitter (through PyYAML) writing "
        f"{repo.rendered_bytes / 1e6:.1f} MB of dvc.yaml and params.yaml; validation takes "
        f"{float(data['validate']) * 1000:,.0f} ms."
    )


def signed(ms: float) -> str:
    """The intercept of a fit: '+ 92 ms' or '− 233 ms'."""
    return f"{'+' if ms >= 0 else '−'} {abs(ms):.0f} ms"


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmarks of `mlform plan` (issue 5).")
    parser.add_argument("--runs", type=int, default=15, help="timed runs on credit-risk")
    parser.add_argument(
        "--rounds", type=int, default=7, help="timed rounds over the generated repositories"
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[50, 100, 200, 400],
        help=f"models per generated repository (default 50 100 200 400; {REPO_MODELS} is target 2)",
    )
    parser.add_argument(
        "--work", type=Path, default=HERE / ".work", help="where the projects are made"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS until other processes use < 10%% of the CPUs",
    )
    parser.add_argument("--mlform", help="the mlform executable (default: next to this Python)")
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write the '{SECTION[3:]}' section of RESULTS.md",
    )
    args = parser.parse_args(argv)
    if REPO_MODELS not in args.sizes:
        parser.error(f"--sizes must include {REPO_MODELS} (target 2)")
    started = time.perf_counter()
    mlform = find_tool("mlform", args.mlform)
    work = (args.work / "plan").resolve()
    env = {**bench_pipeline.child_env(mlform.parent, args.work.resolve(), 0), **GIT_ENV}
    project = work / "credit-risk"
    try:
        return run(args, started, mlform, work, project, env)
    except Precondition as exc:
        print(f"\nPRECONDITION FAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        if (project / MARKER).exists():
            print(f"Stopping the local server: {stop_server(mlform, project, env)}", flush=True)


def run(
    args: argparse.Namespace,
    started: float,
    mlform: Path,
    work: Path,
    project: Path,
    env: dict[str, str],
) -> int:
    quiet = "not checked"
    if args.quiet_wait > 0:
        quiet = wait_until_quiet(args.quiet_wait)
        quiet += f" (after {time.perf_counter() - started:.0f} s)"
        started = time.perf_counter()
    load_start = load_average()
    print(f"Load average at start: {load_start}; before starting: {quiet}", flush=True)
    others = {"run": OtherLoad().start()}
    python = interpreter_of(mlform)
    work.mkdir(parents=True, exist_ok=True)

    # ---- Target 1: the example, really applied.
    port, apply_ms, summary = apply_example(mlform, project, env)
    print(
        f"Applied {os.path.relpath(project, ROOT)} in {fmt(apply_ms)} ({summary}); "
        f"the local server listens on 127.0.0.1:{port}.",
        flush=True,
    )
    validate_ex = Series(
        "mlform validate (credit-risk)",
        [str(mlform), "validate"],
        "mlform validate",
        cwd=project,
        env=env,
    )
    plan_ex = Series(
        "mlform plan (credit-risk, applied)",
        [str(mlform), "plan", "--detailed-exitcode"],
        "mlform plan --detailed-exitcode",
        cwd=project,
        env=env,
        check=expect_nothing,
    )
    for s in (validate_ex, plan_ex):
        s.run_untimed()
    print(f"Timing target 1: {args.runs} rounds of [validate | plan] ...", flush=True)
    others["target 1"] = OtherLoad().start()
    alternate([validate_ex, plan_ex], args.runs)
    load_t1 = others["target 1"].describe()
    phases_ex = phases(python, project, "", env)

    # ---- Targets 2 and 3: generated repositories with synthesized state.
    repos: list[Repo] = []
    for models in sorted(set(args.sizes)):
        repo = make_repo(models, work, mlform, python, env)
        repos.append(repo)
        print(
            f"Generated {os.path.relpath(repo.path, ROOT)}: {repo.documents} documents, "
            f"{repo.resources} resources in '{ENVIRONMENT}' {repo.kinds}; set up in "
            f"{repo.setup_s:.1f} s",
            flush=True,
        )
    plans: dict[int, Series] = {}
    validates: dict[int, Series] = {}
    for repo in repos:
        rel = os.path.relpath(repo.path, ROOT)
        plans[repo.models] = Series(
            f"mlform plan ({repo.models} models)",
            [str(mlform), "plan", "--env", ENVIRONMENT, "--detailed-exitcode"],
            f"mlform plan --env {ENVIRONMENT} --detailed-exitcode   # in {rel}",
            cwd=repo.path,
            env=env,
            check=expect_nothing,
        )
        validates[repo.models] = Series(
            f"mlform validate ({repo.models} models)",
            [str(mlform), "validate"],
            f"mlform validate   # in {rel}",
            cwd=repo.path,
            env=env,
        )
    sides = [s for m in sorted(plans) for s in (validates[m], plans[m])]
    for s in sides:
        s.run_untimed()
    print(
        f"Preconditions: `mlform plan --detailed-exitcode` exits 0 with 'No changes' on every "
        f"repository. Timing targets 2 and 3: {args.rounds} rounds of {len(sides)} commands ...",
        flush=True,
    )
    others["targets 2, 3"] = OtherLoad().start()
    alternate(
        sides,
        args.rounds,
        progress=lambda i: print(f"  round {i}/{args.rounds} done", flush=True),
    )
    load_t2 = others["targets 2, 3"].describe()
    for repo in repos:
        repo.phases = phases(python, repo.path, ENVIRONMENT, env)

    load_end = load_average()
    other_load = {
        "the whole run": others["run"].describe(),
        "timing target 1": load_t1,
        "timing targets 2 and 3": load_t2,
    }
    elapsed = time.perf_counter() - started

    slope, intercept = fit([(m, s.median) for m, s in plans.items()])
    vslope, vintercept = fit([(m, s.median) for m, s in validates.items()])
    target_repo = plans[REPO_MODELS]
    largest = max(plans)
    growth = ", ".join(
        f"{m}: {plans[m].median / 1000:.2f} s ({plans[m].median / m:.1f} ms/model)"
        for m in sorted(plans)
    )
    results = [
        (
            "1",
            f"credit-risk (applied), nothing to do: median ≤ {LIMIT_EXAMPLE_MS:.0f} ms",
            plan_ex.median <= LIMIT_EXAMPLE_MS,
            fmt(plan_ex.median),
        ),
        (
            "2",
            f"{REPO_MODELS} generated models (state synthesized), nothing to do: median ≤ "
            f"{LIMIT_REPO_MS / 1000:.0f} s",
            target_repo.median <= LIMIT_REPO_MS,
            fmt(target_repo.median),
        ),
        (
            "3",
            "growth with the number of models (reported)",
            True,
            f"{growth}; fit {slope:.1f} ms/model {signed(intercept)}",
        ),
    ]

    print()
    print(render_table([validate_ex, plan_ex, *sides]))
    print(
        f"  plan minus validate (medians), credit-risk: {plan_ex.median - validate_ex.median:.0f} ms; "
        + ", ".join(
            f"{m} models: {plans[m].median - validates[m].median:.0f} ms" for m in sorted(plans)
        )
    )
    print(
        f"  linear fit of plan: {slope:.2f} ms/model {signed(intercept)}; of validate: "
        f"{vslope:.2f} ms/model {signed(vintercept)}; {largest} vs {REPO_MODELS} models: "
        f"{plans[largest].median / target_repo.median:.2f}×"
    )
    print()
    print(phase_table(phases_ex, repos))
    print()
    for target, what, ok, value in results:
        print(f"  target {target}: {'PASS' if ok else 'MISS'}  {what} — {value}")
    print(f"Load average at start: {load_start}; at end: {load_end}")
    print("CPU used by other processes: " + "; ".join(f"{k} {v}" for k, v in other_load.items()))
    print(f"Benchmark wall time: {elapsed:.0f} s")

    if args.write_results:
        section = render_section(
            args=args,
            project=project,
            port=port,
            apply_ms=apply_ms,
            summary=summary,
            validate_ex=validate_ex,
            plan_ex=plan_ex,
            phases_ex=phases_ex,
            repos=repos,
            plans=plans,
            validates=validates,
            fits=((slope, intercept), (vslope, vintercept)),
            results=results,
            host=machine(python),
            tool_versions=versions(python, PACKAGES),
            loads=(load_start, load_end),
            quiet=quiet,
            other_load=other_load,
            elapsed=elapsed,
        )
        _common.write_section(SECTION, section)
        print(f"Wrote the '{SECTION[3:]}' section of {os.path.relpath(RESULTS, ROOT)}.")
    return 0 if all(ok for *_, ok, _ in results) else 1


PHASE_ORDER = (
    "imports",
    "validate",
    "graph",
    "render dvc.yaml + params.yaml",
    "  of which YAML dumps (PyYAML/libyaml)",
    "resources",
    "load state",
    "observe",
    "plan (incl. git rev-parse)",
    "text",
    "total",
)


def _phase_cells(data: dict[str, Any] | None) -> list[str]:
    if not data or "error" in data:
        return ["?"] * len(PHASE_ORDER)
    return [f"{float(data[k]) * 1000:.0f}" if k in data else "?" for k in PHASE_ORDER]


def phase_rows(example: dict[str, Any], repos: list[Repo]) -> tuple[list[list[str]], list[str]]:
    """The phase table (a header row, then one row per phase) and any phase errors."""
    rows = [["phase", "credit-risk", *(f"{r.models} models" for r in repos)]]
    columns = [_phase_cells(example), *(_phase_cells(r.phases) for r in repos)]
    for i, name in enumerate(PHASE_ORDER):
        rows.append([name, *(c[i] for c in columns)])
    labelled = [("credit-risk", example), *((f"{r.models} models", r.phases) for r in repos)]
    errors = [f"{label}: {data['error']}" for label, data in labelled if data and "error" in data]
    return rows, errors


def phase_table(example: dict[str, Any], repos: list[Repo]) -> str:
    rows, errors = phase_rows(example, repos)
    rows[0][0] = "phase (ms, one in-process run)"
    return text_table(rows) + ("\n  phase errors: " + "; ".join(errors) if errors else "")


def render_section(
    *,
    args: argparse.Namespace,
    project: Path,
    port: int,
    apply_ms: float,
    summary: str,
    validate_ex: Series,
    plan_ex: Series,
    phases_ex: dict[str, Any],
    repos: list[Repo],
    plans: dict[int, Series],
    validates: dict[int, Series],
    fits: tuple[tuple[float, float], tuple[float, float]],
    results: list[tuple[str, str, bool, str]],
    host: dict[str, str],
    tool_versions: str,
    loads: tuple[str, str],
    quiet: str,
    other_load: dict[str, str],
    elapsed: float,
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    options = f"--runs {args.runs} --rounds {args.rounds} --sizes {' '.join(map(str, args.sizes))}"
    if args.quiet_wait > 0:
        options += f" --quiet-wait {args.quiet_wait:g}"
    (slope, intercept), (vslope, vintercept) = fits
    out = [
        SECTION,
        "",
        f"Measured {now} at commit {git_revision()} with "
        f"`python benchmarks/bench_plan.py {options}"
        f"{' --write-results' if args.write_results else ''}` (whole run: {elapsed:.0f} s).",
        "",
        "**Machine**",
        "",
        f"- CPU: {host['cpu']}; {host['cores']}",
        f"- RAM: {host['ram']}",
        f"- Python: {host['python']}",
        f"- OS: {host['os']}",
        f"- Load average (1, 5, 15 min): {loads[0]} at the start of the run, {loads[1]} at the end "
        f"(before starting, `--quiet-wait`: {quiet})",
        "- CPU time used by other processes (machine busy time from /proc/stat minus this "
        "benchmark's and its children's; the idle local server of target 1 counts as other): "
        + "; ".join(f"{k}: {v}" for k, v in other_load.items()),
        f"- Packages: {tool_versions}",
        "",
        f"**Target 1 set-up** (untimed, a real apply): `git init` then `mlform init "
        f"{os.path.relpath(project, ROOT)} --example credit-risk --force` (the folder is its "
        "own repository; only `.git` is in it), the local Deployment's port "
        f"set to a free one ({port}) in `ml/deployment.yaml`, `git add -A && git commit`, then "
        f"`mlform apply --auto-approve` ({apply_ms / 1000:.1f} s: {summary} — the pipeline ran "
        "through `dvc repro`, the version was registered, the local server started). The server "
        f"keeps running while plan is timed (a stopped server is drift) and is stopped at the "
        f"end with `mlform server stop {DEPLOYMENT}`. Every timed plan run must exit 0 and print "
        "'No changes' (so the server was up and serving the applied version throughout).",
        "",
        f"**Targets 2 and 3 set-up** (untimed, state synthesized): for each size, `python "
        f"benchmarks/gen_repo.py --models N --targets {TARGETS}` (5 documents per model, "
        "every Deployment a cluster target: no local server), `git init`, commit, `mlform "
        "compile` (writes dvc.yaml and params.yaml), commit, then a state file written with "
        f'mlform\'s own code: `desired_state(mlform.load(root, "{ENVIRONMENT}"))` gives the '
        "desired resources, each gets the record `apply.Context.record` writes (status "
        '"applied", outputs `{}`), and `State.save()` writes '
        f"`.mlform/state/{ENVIRONMENT}.json` with the applied revision set to HEAD. plan must "
        "exit 0 with 'No changes' before timing. **This state is synthesized, not applied**: no "
        "pipeline ran, so the state records no output sizes and mtimes for plan to stat, no "
        "version was registered, and no deployment manifest was rendered (a cluster "
        "Deployment's record holds no files to hash); the rendered dvc.yaml and params.yaml "
        "are real and hashed as after an apply. A really applied repository would add one "
        "`stat` per recorded pipeline file and one sha256 per rendered manifest to plan's "
        "observation phase. The credit-risk number, by contrast, is a real applied project, "
        "server included.",
        "",
        "| models | documents | resources in `"
        + ENVIRONMENT
        + "` | by type | dvc.yaml + params.yaml | set-up |",
        "| ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in repos:
        kinds = ", ".join(f"{k} {v}" for k, v in (r.kinds or {}).items())
        out.append(
            f"| {r.models} | {r.documents} | {r.resources} | {kinds} | "
            f"{r.rendered_bytes / 1e6:.2f} MB | {r.setup_s:.0f} s |"
        )
    out += [
        "",
        "**Commands** (wall time of the whole process, `time.perf_counter()` around "
        "`subprocess.run`, each run once untimed first; validate alternates with plan as a "
        "floor)",
        "",
        "```sh",
        f"# target 1, in {os.path.relpath(project, ROOT)}; {args.runs} rounds",
        validate_ex.shown,
        plan_ex.shown,
        f"# targets 2 and 3, in benchmarks/.work/plan/repo-N; {args.rounds} rounds, all sizes "
        "in each round, the order rotating",
        "mlform validate",
        f"mlform plan --env {ENVIRONMENT} --detailed-exitcode",
        "```",
        "",
        "**Results** (ms; p90 is nearest-rank)",
        "",
        "| project | command | runs | median | p90 | min | median per model |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in (validate_ex, plan_ex):
        out.append(
            f"| credit-risk (applied) | `{s.shown}` | {len(s.samples_ms)} | {s.median:.0f} | "
            f"{s.p90:.0f} | {s.minimum:.0f} | |"
        )
    for m in sorted(plans):
        for s in (validates[m], plans[m]):
            command = s.shown.split("   #")[0]
            out.append(
                f"| {m} models (synthesized state) | `{command}` | {len(s.samples_ms)} | "
                f"{s.median:.0f} | {s.p90:.0f} | {s.minimum:.0f} | {s.median / m:.1f} |"
            )
    out += [
        "",
        f"Growth: a least-squares line through the plan medians gives **{slope:.1f} ms per "
        f"model** {signed(intercept)} (validate alone: {vslope:.1f} ms per model "
        f"{signed(vintercept)}); plan minus validate: credit-risk "
        f"{plan_ex.median - validate_ex.median:.0f} ms, "
        + ", ".join(
            f"{m} models {plans[m].median - validates[m].median:.0f} ms" for m in sorted(plans)
        )
        + f". From {min(plans)} to {max(plans)} models ({max(plans) / min(plans):.0f}× the "
        f"models) plan's median grows {plans[max(plans)].median / plans[min(plans)].median:.1f}×.",
        "",
        "Where plan's time goes (one fresh process per project, mlform's functions timed in "
        "the order `run.plan_for` calls them; ms):",
        "",
    ]
    rows, errors = phase_rows(phases_ex, repos)
    out.append("| " + " | ".join(rows[0]) + " |")
    out.append("| --- |" + " ---: |" * (len(rows[0]) - 1))
    out += [
        "| " + " | ".join([row[0].replace("  of which", "↳ of which"), *row[1:]]) + " |"
        for row in rows[1:]
    ]
    if errors:
        out += ["", "Phase errors: " + "; ".join(errors)]
    out += [
        "",
        "| target | requirement | measured | result |",
        "| --- | --- | --- | --- |",
    ]
    for target, what, ok, value in results:
        shown = "reported" if target == "3" else ("PASS" if ok else "**MISS**")
        out.append(f"| {target} | {what} | {value} | {shown} |")
    out += [
        "",
        "**Notes**",
        "",
        "- plan = validate (parse, schema, cross-document checks) + rendering dvc.yaml and "
        "params.yaml in memory (to compare them with the files on disk) + the resources, the "
        "state, the observation of the world and the diff. The phase table shows which part "
        "grows with the number of models." + render_note(repos),
        f"- The generated repositories are planned in the `{ENVIRONMENT}` environment, where "
        "their KServe Deployments (declared for prod only) and the Triton Deployments "
        "declared for prod exist; in the default environment they would have none.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
