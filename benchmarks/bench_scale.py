#!/usr/bin/env python3
"""How validate, compile, plan and a no-op apply grow with the number of models (issue 12).

    /work/venv/bin/python benchmarks/bench_scale.py [--sizes 400 800 1600 3200] [--write-results]
    /work/venv/bin/python benchmarks/bench_scale.py --sizes 10000 --runs 1   # the 10k point

Targets, each on generated repositories (``gen_repo.py --targets kserve,triton``: five spec
documents per model, cluster deployments, so no local server):
  1. growth exponent <= 1.1 from the smallest to the largest size for validate, compile
     (nothing to write), compile --check, plan and a no-op apply: the slope of log(time) over
     log(models), least squares over every size;
  2. plan at 1,000 models <= 3 s (measured when 1000 is among --sizes);
  3. plan at 10,000 models <= 20 s with a peak RSS <= 1 GiB (when 10000 is among --sizes);
  4. a no-op compile (every environment's files, nothing to write) no slower than plan (one
     environment), at the largest size.

Set-up (untimed, per size, as bench_plan.py does it): generate, ``git init``, commit,
``mlform compile``, commit, then the state a full apply would have recorded, written with
mlform's own code (``desired_state`` → ``State.save``, status "applied"): applying
thousands of pipelines (training every model) is not feasible here. What that skips: no
pipeline ran, so no outputs are recorded or checked; everything plan and apply read is real.
plan must then exit 0 ("No changes") and apply must say "Nothing to apply" — checked on every
run. Each no-op apply records the revision (one journal entry, not a rewrite of the state).

Every command runs in a fresh process (``python -m mlform``, the code under test via
PYTHONPATH); wall time from ``time.perf_counter()`` and the peak RSS from ``wait4``; after
one untimed run, --runs rounds, the commands alternating. Medians.

Exit status: 0 when every target measured is met, 1 when one is missed, 2 on a failed
precondition.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_plan  # noqa: E402
from _common import (  # noqa: E402
    ROOT,
    OtherLoad,
    Precondition,
    git_revision,
    load_average,
    machine,
    text_table,
    wait_until_quiet,
    write_section,
)

SECTION = "## Issue 12 — scale"
WORK = HERE / ".work" / "scale"
COMMANDS = {
    "validate": ["validate"],
    "compile": ["compile"],
    "compile --check": ["compile", "--check"],
    "plan": ["plan", "--env", "prod", "--detailed-exitcode"],
    "no-op apply": ["apply", "--env", "prod", "--auto-approve"],
}
EXPECT = {"plan": "No changes", "no-op apply": "Nothing to apply", "compile --check": "up to date"}
GOAL_EXPONENT = 1.1
GOAL_1K_S, GOAL_10K_S, GOAL_10K_RSS = 3.0, 20.0, 1024 * 1024 * 1024


@dataclass
class Point:
    models: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, int] = field(default_factory=dict)
    setup_s: float = 0.0
    resources: int = 0
    state_bytes: int = 0

    def median(self, command: str) -> float:
        return statistics.median(self.seconds[command])


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in bytes, stdout) of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise Precondition(
            f"`{' '.join(argv[2:])}` in {cwd} exited {proc.returncode}:\n{out[-1500:]}"
        )
    return wall, usage.ru_maxrss * 1024, out


def md_table(rows: list[list[str]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in body)])


def slope(points: list[tuple[int, float]]) -> float:
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def measure(models: int, runs: int, python: str, env: dict[str, str]) -> Point:
    point = Point(models)
    start = time.perf_counter()
    repo = bench_plan.make_repo(models, WORK, Path(sys.executable).with_name("mlform"), python, env)
    point.setup_s, point.resources = time.perf_counter() - start, repo.resources
    point.state_bytes = sum(p.stat().st_size for p in (repo.path / ".mlform/state").glob("prod.*"))
    for args in COMMANDS.values():  # one untimed run each (and the checks)
        run([python, "-m", "mlform", *args], repo.path, env)
    for _ in range(runs):
        for name, args in COMMANDS.items():
            wall, rss, out = run([python, "-m", "mlform", *args], repo.path, env)
            if name in EXPECT and EXPECT[name] not in out:
                raise Precondition(f"`mlform {' '.join(args)}` did something:\n{out[-1500:]}")
            point.seconds.setdefault(name, []).append(wall)
            point.rss[name] = max(point.rss.get(name, 0), rss)
        print(
            f"  {models} models: "
            + ", ".join(f"{n} {point.seconds[n][-1]:.2f} s" for n in COMMANDS),
            flush=True,
        )
    return point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400, 800, 1000, 1600, 3200])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quiet-wait", type=float, default=30.0)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    python = sys.executable
    env = dict(os.environ, **bench_plan.GIT_ENV, PYTHONPATH=str(ROOT / "src"))
    quiet = wait_until_quiet(args.quiet_wait)
    load_before = load_average()
    began = time.perf_counter()
    other = OtherLoad().start()
    points = []
    try:
        for models in sorted(set(args.sizes)):
            print(f"{models} models: setting up", flush=True)
            points.append(measure(models, args.runs, python, env))
    except Precondition as failed:
        print(f"precondition failed: {failed}", file=sys.stderr)
        return 2
    rows = [["models", "resources", "state", *COMMANDS, "peak RSS (plan)"]]
    for p in points:
        rows.append(
            [
                f"{p.models:,}",
                f"{p.resources:,}",
                f"{p.state_bytes / 1e6:.1f} MB",
                *[f"{p.median(n):.2f} s" for n in COMMANDS],
                f"{p.rss['plan'] / 2**20:.0f} MiB",
            ]
        )
    goals: list[tuple[str, str, bool]] = []
    if len(points) >= 2:
        for name in COMMANDS:
            k = slope([(p.models, p.median(name)) for p in points])
            goals.append(
                (
                    f"{name}: growth exponent {points[0].models:,}→{points[-1].models:,} models ≤ {GOAL_EXPONENT}",
                    f"{k:.2f}",
                    k <= GOAL_EXPONENT,
                )
            )
    if points:
        big = points[-1]
        c, pl = big.median("compile"), big.median("plan")
        goals.append(
            (
                f"a no-op compile no slower than plan ({big.models:,} models)",
                f"{c:.2f} vs {pl:.2f} s",
                c <= pl,
            )
        )
    for p in points:
        if p.models == 1000:
            t = p.median("plan")
            goals.append(("plan at 1,000 models ≤ 3 s", f"{t:.2f} s", t <= GOAL_1K_S))
        if p.models == 10000:
            t, rss = p.median("plan"), p.rss["plan"]
            goals.append(("plan at 10,000 models ≤ 20 s", f"{t:.2f} s", t <= GOAL_10K_S))
            goals.append(
                (
                    "peak RSS of plan at 10,000 models ≤ 1 GiB",
                    f"{rss / 2**20:.0f} MiB",
                    rss <= GOAL_10K_RSS,
                )
            )
    table = text_table(rows)
    verdict = text_table(
        [
            ["target", "measured", "result"],
            *[[g, m, "PASS" if ok else "FAIL"] for g, m, ok in goals],
        ]
    )
    print(table)
    print(verdict)
    spec = machine(python)
    command = "python benchmarks/bench_scale.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    section = (
        f"{SECTION}\n\n"
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC at commit {git_revision()} with "
        f"`{command}` (whole run: {time.perf_counter() - began:.0f} s).\n\n"
        f"**Machine**: {spec['cpu']}; {spec['cores']}; {spec['ram']}; {spec['python']}; {spec['os']}. "
        f"Load average {load_before} at the start, {load_average()} at the end ({quiet}); other "
        f"processes used {other.describe()} during the run.\n\n"
        "**What is measured**: each command in a fresh process (`python -m mlform …`) on a "
        "generated repository (`gen_repo.py --targets kserve,triton`, five documents per model), "
        "median wall time of the runs; state synthesized as after a full apply (see the script's "
        "docstring: no pipeline ran). `compile` writes nothing (the files are current); "
        "`no-op apply` records the revision.\n\n"
        f"{md_table(rows)}\n\n"
        + md_table(
            [
                ["target", "measured", "result"],
                *[[g, m, "PASS" if ok else "FAIL"] for g, m, ok in goals],
            ]
        )
        + "\n"
    )
    if args.write_results:
        write_section(SECTION, section)
    return 0 if all(ok for _, _, ok in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
