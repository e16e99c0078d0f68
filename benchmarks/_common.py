"""Helpers shared by the benchmarks: timed command series run alternately, percentiles, the
machine and package versions for the record, and writing one section of RESULTS.md.

Standard library only, so importing it costs nothing measurable.
"""

from __future__ import annotations

import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
RESULTS_PREAMBLE = (
    "# Benchmark results\n\nEach section is written by its benchmark with `--write-results`; "
    "see README.md.\n"
)


class Precondition(Exception):
    """Something the measurement depends on does not hold (exit status 2)."""


def tail(proc: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    text = (proc.stdout or "") + (proc.stderr or "")
    return "\n".join(text.strip().splitlines()[-lines:])


# ------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------
def nearest_rank(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q <= 100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100.0 * len(ordered)) - 1)]


def fmt(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


# ------------------------------------------------------------------------------------------
# Timing commands
# ------------------------------------------------------------------------------------------
Check = Callable[[list[subprocess.CompletedProcess[str]]], str | None]


@dataclass
class Series:
    """One side of a comparison: a command, or several run one after the other as one sample.

    Wall time is `time.perf_counter()` around `subprocess.run`; with several commands the
    sample is their sum and each command's own time is kept in ``parts_ms``.
    """

    label: str
    argv: list[str]
    shown: str  # the command as a person types it
    cwd: Path = ROOT
    env: dict[str, str] | None = None
    more: list[list[str]] = field(default_factory=list)  # run after argv, same sample
    check: Check | None = None  # returns a message when the outputs are wrong
    samples_ms: list[float] = field(default_factory=list)
    parts_ms: list[list[float]] = field(default_factory=list)

    @property
    def commands(self) -> list[list[str]]:
        return [self.argv, *self.more]

    def run_untimed(self) -> list[subprocess.CompletedProcess[str]]:
        """Run every command once, not recorded; a non-zero exit is a precondition failure."""
        procs = []
        for argv in self.commands:
            proc = subprocess.run(
                argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise Precondition(
                    f"`{' '.join(argv)}` (in {self.cwd}) exited {proc.returncode}:\n{tail(proc)}"
                )
            procs.append(proc)
        self._check(procs)
        return procs

    def run_once(self) -> list[subprocess.CompletedProcess[str]]:
        parts = []
        procs = []
        for argv in self.commands:
            start = time.perf_counter()
            proc = subprocess.run(
                argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, check=False
            )
            parts.append((time.perf_counter() - start) * 1000.0)
            if proc.returncode != 0:
                raise Precondition(
                    f"`{self.shown}` exited {proc.returncode} during timing:\n{tail(proc)}"
                )
            procs.append(proc)
        self.samples_ms.append(sum(parts))
        self.parts_ms.append(parts)
        self._check(procs)
        return procs

    def _check(self, procs: list[subprocess.CompletedProcess[str]]) -> None:
        if self.check is not None:
            problem = self.check(procs)
            if problem:
                raise Precondition(f"`{self.shown}`: {problem}")

    def part_median(self, index: int) -> float:
        return statistics.median(p[index] for p in self.parts_ms)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        """Nearest-rank 90th percentile."""
        return nearest_rank(self.samples_ms, 90)

    @property
    def minimum(self) -> float:
        return min(self.samples_ms)

    @property
    def maximum(self) -> float:
        return max(self.samples_ms)


def alternate(
    series: list[Series], rounds: int, progress: Callable[[int], None] | None = None
) -> None:
    """Run each side once per round, the order rotating every round (for two sides: A B, then
    B A), so drift and noise hit every side alike."""
    for i in range(rounds):
        shift = i % len(series)
        for s in series[shift:] + series[:shift]:
            s.run_once()
        if progress is not None:
            progress(i + 1)


def render_table(series: list[Series]) -> str:
    rows = [("command", "runs", "median", "p90", "min", "max")]
    for s in series:
        rows.append(
            (
                s.label,
                str(len(s.samples_ms)),
                fmt(s.median),
                fmt(s.p90),
                fmt(s.minimum),
                fmt(s.maximum),
            )
        )
    return text_table(rows)


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to width; the first left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def warm_files(paths: list[Path]) -> int:
    """Read every file once so the first timed run does not pay for the disk."""
    total = 0
    for path in paths:
        if path.is_file():
            total += len(path.read_bytes())
        elif path.is_dir():
            for sub in path.rglob("*"):
                if sub.is_file():
                    total += len(sub.read_bytes())
    return total


# ------------------------------------------------------------------------------------------
# Tools and the machine
# ------------------------------------------------------------------------------------------
def find_tool(name: str, given: str | None) -> Path:
    if given:
        return Path(given)
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if not found:
        raise Precondition(f"'{name}' not found next to {sys.executable} or on PATH")
    return Path(found)


def interpreter_of(script: Path) -> str:
    """The Python a console script runs under (its shebang), else this one."""
    try:
        first = script.read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return sys.executable
    if first.startswith("#!") and "python" in first:
        candidate = first[2:].strip().split()[0]
        if Path(candidate).exists():
            return candidate
    return sys.executable


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine(python: str) -> dict[str, str]:
    cpuinfo = _read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    os_name = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', _read("/etc/os-release"), re.M)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    version = subprocess.run(
        [
            python,
            "-c",
            "import sys, platform; print(platform.python_implementation(), sys.version.split()[0])",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": f"{os.cpu_count()} logical ({usable} usable by this process)",
        "ram": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "python": f"{version} ({python})",
        "os": f"{os_name.group(1) if os_name else platform.system()}, kernel {platform.release()} ({platform.machine()})",
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def _machine_busy_seconds() -> float | None:
    """CPU seconds all CPUs have spent busy since boot (/proc/stat), or None."""
    fields = _read("/proc/stat").split("\n", 1)[0].split()
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of every child it (or they) waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class OtherLoad:
    """CPU time other processes used while the benchmark ran: the machine's busy time
    (/proc/stat) minus this process's and its children's (getrusage)."""

    busy0: float | None = None
    own0: float = 0.0
    wall0: float = 0.0

    def start(self) -> OtherLoad:
        self.busy0, self.own0, self.wall0 = (
            _machine_busy_seconds(),
            _own_cpu_seconds(),
            time.perf_counter(),
        )
        return self

    def share(self) -> tuple[float, float] | None:
        """(CPU seconds used by other processes, their share of the machine's capacity)."""
        busy = _machine_busy_seconds()
        if busy is None or self.busy0 is None:
            return None
        wall = time.perf_counter() - self.wall0
        other = max(0.0, (busy - self.busy0) - (_own_cpu_seconds() - self.own0))
        capacity = wall * (os.cpu_count() or 1)
        return other, other / capacity if capacity else 0.0

    def describe(self) -> str:
        found = self.share()
        if found is None:
            return "unknown"
        seconds, share = found
        return f"{seconds:.1f} CPU s ({share:.0%} of {os.cpu_count()} cores)"


def wait_until_quiet(limit_s: float, threshold: float = 0.10, window_s: float = 3.0) -> str:
    """Wait (at most ``limit_s``) until other processes use under ``threshold`` of the
    machine over a ``window_s`` window; returns what was seen."""
    deadline = time.monotonic() + limit_s
    while True:
        meter = OtherLoad().start()
        time.sleep(window_s)
        found = meter.share()
        if found is None:
            return "unknown (no /proc/stat)"
        if found[1] < threshold:
            return f"quiet: others used {found[1]:.0%} of the machine over {window_s:.0f} s"
        if time.monotonic() >= deadline:
            return f"busy: others used {found[1]:.0%} of the machine over the last {window_s:.0f} s"


def versions(python: str, distributions: Sequence[str]) -> str:
    """'name version' of each installed distribution, in the interpreter ``python``."""
    code = (
        "import importlib.metadata as m, sys\n"
        "out = []\n"
        "for d in sys.argv[1:]:\n"
        "    try: out.append(f'{d} {m.version(d)}')\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(', '.join(out))\n"
    )
    return subprocess.run(
        [python, "-c", code, *distributions], capture_output=True, text=True, check=False
    ).stdout.strip()


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (src/ has uncommitted changes)" if dirty else "")


# ------------------------------------------------------------------------------------------
# RESULTS.md
# ------------------------------------------------------------------------------------------
def write_section(heading: str, section: str, results: Path = RESULTS) -> None:
    """Replace the section that starts with the line ``heading`` (up to the next '## '
    heading) with ``section``, or append it when there is none."""
    text = results.read_text() if results.exists() else RESULTS_PREAMBLE
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    if start is None:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = next(
            (j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")), len(lines)
        )
        after = "".join(lines[end:])
        text = "".join(lines[:start]) + section + ("\n" + after if after else "")
    results.write_text(text)
