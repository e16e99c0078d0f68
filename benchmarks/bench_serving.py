#!/usr/bin/env python3
"""Benchmark of mlform's local server against MLServer (issue 4), in one run.

    /work/venv/bin/python benchmarks/bench_serving.py [--write-results]
    /work/venv/bin/python benchmarks/bench_serving.py --install-mlserver   # set-up, once

Target: for single-row V2 inference requests on the credit-risk model, mlform's local server
        (`mlform serve --config`, onnxruntime on the exported ONNX model) delivers at least
        2x the throughput of MLServer's scikit-learn runtime serving the same trained
        pipeline (pipeline.joblib, predict_proba), with a lower p99 latency; same machine,
        same run, same load generator (benchmarks/loadgen.py: keep-alive HTTP/1.1 on asyncio)
        and the same concurrency. The best MLServer configuration counts: MLServer runs with
        its defaults and, because its defaults are a handicap on 2 cores (scikit-learn's
        OpenMP threads spin against the client and the server; inference goes through a
        separate worker process), also with a better configuration (--mlserver-variants).

Set-up (untimed): examples/credit-risk is copied to benchmarks/.work/serving/credit-risk, made
a git + DVC repository, committed, and `dvc repro` trains and exports the model (as in
bench_pipeline.py). MLServer runs from its own virtual environment (--mlserver, default
/work/mlserver-venv/bin/mlserver; --install-mlserver makes it). Every server listens on
127.0.0.1 and free ports; all of them run during the whole measurement, each idle while the
others are under load.

Before timing: both servers must answer the same 20 rows of the data with probabilities that
agree to 1e-4 and sum to 1 (otherwise exit 2); each server gets a warm-up run. Then --rounds
rounds, each running the load generator against every server for --seconds, the order
rotating every round. Per run: throughput, p50/p90/p99 latency (from the load generator),
peak RSS of the server's process tree (every process under the server's pid, summed, sampled
from /proc every 100 ms), CPU seconds of the server tree and of the load generator.

Exit status: 0 when the target is met, 1 when it is missed, 2 when a precondition fails.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _common  # noqa: E402
import bench_pipeline  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    ROOT,
    Precondition,
    find_tool,
    fmt,
    git_revision,
    interpreter_of,
    load_average,
    machine,
    tail,
    text_table,
    versions,
    wait_until_quiet,
)

SECTION = "## Issue 4 — serving"
LOADGEN = HERE / "loadgen.py"
MODEL = "credit-risk"
VERSION = "v0.1.0"
INPUTS = (  # the model's inputs, in the signature's order
    ("age", "FP64"),
    ("income", "FP64"),
    ("employment_years", "FP64"),
    ("housing", "BYTES"),
    ("purpose", "BYTES"),
    ("credit_history", "BYTES"),
    ("loan_amount", "FP64"),
    ("loan_term_months", "FP64"),
)
TARGET_RATIO = 2.0  # mlform throughput / the best MLServer throughput
PARITY_ROWS = 20
PARITY_TOLERANCE = 1e-4
DEFAULT_MLSERVER = Path("/work/mlserver-venv/bin/mlserver")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# MLServer configurations: settings.json additions and environment additions. "defaults" is
# MLServer as installed (parallel_workers 1, debug true, OpenMP threads = cores).
MLSERVER_VARIANTS: dict[str, tuple[dict[str, Any], dict[str, str], str]] = {
    "defaults": (
        {},
        {},
        "MLServer's defaults: parallel_workers 1 (inference in one separate worker process, "
        "requests and responses passed over multiprocessing queues), debug true (uvicorn "
        "access log of every request), gzip on, gRPC and metrics servers on their own ports, "
        f"scikit-learn's OpenMP pool at its default (one thread per core: {os.cpu_count()})",
    ),
    "omp1": (
        {},
        {"OMP_NUM_THREADS": "1"},
        "the defaults with OMP_NUM_THREADS=1 (one OpenMP thread for HistGradientBoosting's "
        "predict)",
    ),
    "tuned": (
        {"parallel_workers": 0, "debug": False},
        {"OMP_NUM_THREADS": "1"},
        "OMP_NUM_THREADS=1, parallel_workers 0 (inference in the server process, no "
        "queue hop), debug false (no access log)",
    ),
    "workers2": (
        {"parallel_workers": 2, "debug": False},
        {"OMP_NUM_THREADS": "1"},
        "OMP_NUM_THREADS=1, parallel_workers 2 (one inference process per core), debug false",
    ),
}
MLSERVER_PACKAGES = (
    "mlserver",
    "mlserver-sklearn",
    "scikit-learn",
    "numpy",
    "pandas",
    "uvicorn",
    "uvloop",
    "fastapi",
    "starlette",
)
MLFORM_PACKAGES = (
    "mlform",
    "onnxruntime",
    "uvicorn",
    "uvloop",
    "httptools",
    "orjson",
    "numpy",
    "scikit-learn",
    "dvc",
)


# ------------------------------------------------------------------------------------------
# Processes: trees, CPU, memory
# ------------------------------------------------------------------------------------------
def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 onward), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total


def pss_bytes(pids: list[int]) -> int | None:
    """Proportional set size of the tree (shared pages split between the processes)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError):
            return None
    return total


class MemorySampler:
    """Peak RSS of a process tree, sampled every ``interval`` seconds in a thread; the tree
    is re-read every second (MLServer restarts workers that die)."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        self.root = root
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pids = tree(self.root)
        refreshed = time.monotonic()
        while True:
            self.peak = max(self.peak, rss_bytes(pids))
            if self._stop.wait(self.interval):
                return
            if time.monotonic() - refreshed >= 1.0:
                pids, refreshed = tree(self.root), time.monotonic()


# ------------------------------------------------------------------------------------------
# Servers
# ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def http(
    method: str, url: str, body: bytes | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class Server:
    key: str  # "mlform", "mlserver-defaults", ...
    label: str
    argv: list[str]
    shown: str  # the command as a person types it
    cwd: Path
    env: dict[str, str]
    port: int
    log: Path
    setting: str  # what is configured, for the record
    body: bytes = b""  # the timed request
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0  # start until ready
    runs: list[dict[str, Any]] = field(default_factory=list)
    idle_rss: int = 0
    pss_after: int | None = None
    processes: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/models/{MODEL}/infer"

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v2/models/{MODEL}/ready"

    def start(self, timeout: float = 120.0) -> None:
        begin = time.perf_counter()
        with self.log.open("wb") as log:
            # A session of its own: the server and its workers are stopped as one group.
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Precondition(
                    f"{self.label} exited {self.process.returncode} while starting "
                    f"(`{self.shown}`); its log {self.log}:\n{_log_tail(self.log)}"
                )
            try:
                status, _ = http("GET", self.ready_url, timeout=2.0)
                if status == 200:
                    self.started_s = time.perf_counter() - begin
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise Precondition(
            f"{self.label} was not ready after {timeout:.0f} s (`{self.shown}`); its log "
            f"{self.log}:\n{_log_tail(self.log)}"
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        """SIGTERM to the server's process group (it finishes what is in flight), SIGKILL
        after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Workers left behind in the group (none expected): end them too, by the group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mlform_server(mlform: Path, work: Path, onnx: Path, env: dict[str, str]) -> Server:
    port = free_port()
    config = {
        "deployment": "bench-serving",
        "host": "127.0.0.1",
        "port": port,
        "models": [
            {
                "model": MODEL,
                "version": VERSION,
                "path": str(onnx),
                "sha256": sha256(onnx),
                "weight": 100,
            }
        ],
        "prediction_log": {"folder": ""},  # no prediction log
    }
    path = work / "mlform-serve.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return Server(
        key="mlform",
        label="mlform serve",
        argv=[str(mlform), "serve", "--config", str(path)],
        shown=f"mlform serve --config {os.path.relpath(path, ROOT)}",
        cwd=work,
        env=env,
        port=port,
        log=work / "mlform-serve.log",
        setting="one process: uvicorn with uvloop and httptools, onnxruntime with one "
        "intra-op thread per run (mlform's choice), no prediction log, metrics in-process",
    )


def mlserver_server(
    mlserver: Path, work: Path, pipeline: Path, variant: str, env: dict[str, str]
) -> Server:
    extra_settings, extra_env, described = MLSERVER_VARIANTS[variant]
    folder = work / f"mlserver-{variant}"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / MODEL).mkdir(parents=True)
    port = free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        **extra_settings,
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    model_settings = {
        "name": MODEL,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(pipeline), "version": VERSION},
    }
    (folder / MODEL / "model-settings.json").write_text(json.dumps(model_settings, indent=2) + "\n")
    shown_env = " ".join(f"{k}={v}" for k, v in extra_env.items())
    return Server(
        key=f"mlserver-{variant}",
        label=f"MLServer ({variant})",
        argv=[str(mlserver), "start", str(folder)],
        shown=(shown_env + " " if shown_env else "")
        + f"mlserver start {os.path.relpath(folder, ROOT)}",
        cwd=folder,
        env={**env, **extra_env},
        port=port,
        log=work / f"mlserver-{variant}.log",
        setting=described,
    )


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------
def complete_rows(data_csv: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` rows of the data with every input present, typed as the model
    takes them (numbers as float, categories as str)."""
    rows = []
    with data_csv.open(newline="") as handle:
        for record in csv.DictReader(handle):
            if all(record.get(name) for name, _ in INPUTS):
                rows.append(
                    {
                        name: float(record[name]) if kind == "FP64" else record[name]
                        for name, kind in INPUTS
                    }
                )
                if len(rows) == count:
                    break
    if len(rows) < count:
        raise Precondition(f"{data_csv} has fewer than {count} rows with every input present")
    return rows


def mlform_body(row: dict[str, Any]) -> bytes:
    """Open Inference Protocol V2, one [1, 1] tensor per input (docs/serving.md)."""
    return json.dumps(
        {
            "inputs": [
                {"name": name, "datatype": kind, "shape": [1, 1], "data": [row[name]]}
                for name, kind in INPUTS
            ]
        },
        separators=(",", ":"),
    ).encode()


def mlserver_body(row: dict[str, Any]) -> bytes:
    """The same row for MLServer: pandas codec (one input per column), predict_proba."""
    return json.dumps(
        {
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": name, "datatype": kind, "shape": [1], "data": [row[name]]}
                for name, kind in INPUTS
            ],
            "outputs": [{"name": "predict_proba"}],
        },
        separators=(",", ":"),
    ).encode()


def probabilities(server: Server, body: bytes) -> list[float]:
    status, raw = http("POST", server.url, body)
    if status != 200:
        raise Precondition(
            f"{server.label} answered {status} to a single-row request: {raw[:500]!r}"
        )
    response = json.loads(raw)
    wanted = "probabilities" if server.key == "mlform" else "predict_proba"
    for output in response.get("outputs", []):
        if output.get("name") == wanted:
            values = [float(v) for v in output["data"]]
            if len(values) != 2 or abs(sum(values) - 1.0) > 1e-5:
                raise Precondition(
                    f"{server.label}: '{wanted}' is not a probability pair: {values}"
                )
            return values
    raise Precondition(f"{server.label}: no '{wanted}' output in {raw[:500]!r}")


def parity(servers: list[Server], rows: list[dict[str, Any]]) -> float:
    """Largest difference between any server's probabilities and mlform's, over ``rows``."""
    worst = 0.0
    for row in rows:
        answers = {
            s.key: probabilities(s, mlform_body(row) if s.key == "mlform" else mlserver_body(row))
            for s in servers
        }
        reference = answers["mlform"]
        for key, values in answers.items():
            diff = max(abs(a - b) for a, b in zip(values, reference, strict=True))
            if diff >= PARITY_TOLERANCE:
                raise Precondition(
                    f"{key} and mlform disagree by {diff:.3g} (>= {PARITY_TOLERANCE:g}) on row "
                    f"{row}: {values} vs {reference}"
                )
            worst = max(worst, diff)
    return worst


# ------------------------------------------------------------------------------------------
# Load
# ------------------------------------------------------------------------------------------
def load_run(
    server: Server,
    python: str,
    body_file: Path,
    concurrency: int,
    seconds: float,
    record: bool,
) -> dict[str, Any]:
    """One run of the load generator against ``server``; with ``record``, kept in its runs."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    pids = tree(server.pid)
    cpu0 = cpu_seconds(pids)
    with MemorySampler(server.pid) as sampler:
        proc = subprocess.run(
            [
                python,
                str(LOADGEN),
                server.url,
                str(body_file),
                "--concurrency",
                str(concurrency),
                "--seconds",
                str(seconds),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 120,
        )
    pids_after = tree(server.pid)
    cpu1 = cpu_seconds(pids_after)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise Precondition(f"the load generator exited {proc.returncode}:\n{tail(proc)}")
    result: dict[str, Any] = json.loads(proc.stdout)
    bad = {k: v for k, v in result["statuses"].items() if k != "200"}
    if bad or result["errors"] or not result["requests"]:
        raise Precondition(
            f"{server.label} under load: statuses {result['statuses']}, errors {result['errors']}"
            f"; its log {server.log}:\n{_log_tail(server.log)}"
        )
    result["server_cpu_s"] = cpu1 - cpu0
    result["client_cpu_s"] = (
        after_children.ru_utime
        + after_children.ru_stime
        - before_children.ru_utime
        - before_children.ru_stime
    )
    result["peak_rss"] = sampler.peak
    result["processes"] = len(pids_after)
    if record:
        server.runs.append(result)
    return result


def median(server: Server, key: str) -> float:
    return statistics.median(float(r[key]) for r in server.runs)


def mib(value: float) -> str:
    return f"{value / 1024 / 1024:,.0f} MiB"


# ------------------------------------------------------------------------------------------
# Set-up of MLServer's virtual environment
# ------------------------------------------------------------------------------------------
def install_mlserver(venv: Path, python: str) -> int:
    """Make ``venv`` with MLServer, its scikit-learn runtime, the scikit-learn of mlform's
    venv (the pickle needs it), and mlform itself without dependencies (the pickle holds
    mlform's transformer classes)."""
    sklearn = subprocess.run(
        [python, "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    base = subprocess.run(
        [python, "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    steps = [
        [str(Path(base) / "bin" / "python3"), "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--upgrade", "pip"],
        # uvloop 0.22+ makes asyncio.get_event_loop() raise without a running loop, which
        # MLServer 1.7's parallel inference workers call at start: they die and no model
        # loads. The uvloop of MLServer's release time works.
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "mlserver",
            "mlserver-sklearn",
            f"scikit-learn=={sklearn}",
            "uvloop<0.22",
        ],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-e", str(ROOT)],
    ]
    for argv in steps:
        print("$ " + " ".join(argv), flush=True)
        done = subprocess.run(argv, check=False)
        if done.returncode != 0:
            print(f"PRECONDITION FAILED: `{' '.join(argv)}` exited {done.returncode}")
            return 2
    print(f"MLServer is installed in {venv}; run the benchmark with --mlserver {venv}/bin/mlserver")
    return 0


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark of mlform serve vs MLServer (issue 4).")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the warm-up run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (every server once each)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument(
        "--mlserver-variants",
        default="defaults,tuned",
        help="MLServer configurations, comma-separated, from: "
        + ", ".join(MLSERVER_VARIANTS)
        + " (default: defaults,tuned)",
    )
    parser.add_argument(
        "--mlserver",
        type=Path,
        default=DEFAULT_MLSERVER,
        help=f"the mlserver executable of MLServer's venv (default {DEFAULT_MLSERVER})",
    )
    parser.add_argument(
        "--install-mlserver",
        action="store_true",
        help="make MLServer's venv (the parent of --mlserver's bin directory) and exit",
    )
    parser.add_argument(
        "--work", type=Path, default=HERE / ".work", help="where the example is copied and run"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS until other processes use < 10%% of the CPUs",
    )
    parser.add_argument("--mlform", help="the mlform executable (default: next to this Python)")
    parser.add_argument("--dvc", help="the dvc executable (default: next to this Python)")
    parser.add_argument(
        "--write-results",
        action="store_true",
        help=f"write the '{SECTION[3:]}' section of RESULTS.md",
    )
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.mlserver_variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in MLSERVER_VARIANTS]
    if unknown or not variants:
        parser.error(f"unknown MLServer variants {unknown}; choose from {list(MLSERVER_VARIANTS)}")
    if args.install_mlserver:
        mlform = find_tool("mlform", args.mlform)
        return install_mlserver(args.mlserver.parent.parent, interpreter_of(mlform))
    started = time.perf_counter()
    servers: list[Server] = []
    try:
        return run(args, variants, started, servers)
    except Precondition as exc:
        print(f"\nPRECONDITION FAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in servers:
            server.stop()


def run(
    args: argparse.Namespace, variants: list[str], started: float, servers: list[Server]
) -> int:
    quiet = "not checked"
    if args.quiet_wait > 0:
        quiet = wait_until_quiet(args.quiet_wait)
        quiet += f" (after {time.perf_counter() - started:.0f} s)"
        started = time.perf_counter()
    load_start = load_average()
    print(f"Load average at start: {load_start}; before starting: {quiet}", flush=True)
    mlform = find_tool("mlform", args.mlform)
    dvc = find_tool("dvc", args.dvc)
    python = interpreter_of(mlform)
    mlserver: Path = args.mlserver
    if not mlserver.exists():
        raise Precondition(
            f"{mlserver} not found: make MLServer's venv first with "
            f"`{python} benchmarks/bench_serving.py --install-mlserver` (or pass --mlserver)"
        )
    mlserver_python = interpreter_of(mlserver)
    check = subprocess.run(
        [
            mlserver_python,
            "-c",
            "import mlserver_sklearn, mlform.runtime.transformers, sklearn; print(sklearn.__version__)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise Precondition(
            f"MLServer's venv ({mlserver_python}) cannot import mlserver_sklearn, scikit-learn "
            f"and mlform's transformers:\n{tail(check)}"
        )
    our_sklearn = subprocess.run(
        [python, "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if check.stdout.strip().split(".")[:2] != our_sklearn.split(".")[:2]:
        raise Precondition(
            f"MLServer's venv has scikit-learn {check.stdout.strip()}, mlform's {our_sklearn}: the "
            "pickle needs the same major.minor"
        )

    work = (args.work / "serving").resolve()
    work.mkdir(parents=True, exist_ok=True)
    project = work / "credit-risk"
    env = bench_pipeline.child_env(mlform.parent, args.work.resolve(), 0)
    full_ms = bench_pipeline.set_up(project, dvc, env)
    print(f"Set up {os.path.relpath(project, ROOT)}; `dvc repro` took {fmt(full_ms)}.", flush=True)
    onnx = project / bench_pipeline.ONNX
    pipeline = project / bench_pipeline.PIPELINE

    # The servers' environment: no OpenMP or MLServer settings leak in from outside.
    server_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLSERVER_") and k != "OMP_NUM_THREADS"
    }
    servers.append(mlform_server(mlform, work, onnx, server_env))
    for variant in variants:
        servers.append(mlserver_server(mlserver, work, pipeline, variant, server_env))
    for server in servers:
        server.start()
        print(f"{server.label}: ready in {server.started_s:.1f} s at {server.url}", flush=True)

    # Requests, and the answers checked before timing.
    rows = complete_rows(project / "data" / "credit.csv", PARITY_ROWS)
    worst = parity(servers, rows)
    timed_row = rows[0]
    answers = {}
    for server in servers:
        server.body = mlform_body(timed_row) if server.key == "mlform" else mlserver_body(timed_row)
        body_file = work / f"request-{server.key}.json"
        body_file.write_bytes(server.body)
        answers[server.key] = probabilities(server, server.body)
    print(
        f"Preconditions: the servers agree on {PARITY_ROWS} rows (max |Δ probability| "
        f"{worst:.2g}); timed row {timed_row}",
        flush=True,
    )

    # Warm-up, then rounds with the order rotating.
    for server in servers:
        load_run(
            server,
            python,
            work / f"request-{server.key}.json",
            args.concurrency,
            args.warmup,
            record=False,
        )
        server.idle_rss = rss_bytes(tree(server.pid))
    print(
        f"Timing: {args.rounds} rounds x {len(servers)} servers x {args.seconds:g} s, "
        f"{args.concurrency} connections ...",
        flush=True,
    )
    busy0 = _common._machine_busy_seconds()
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.perf_counter()
    servers_cpu0 = sum(cpu_seconds(tree(s.pid)) for s in servers)
    children_cpu = 0.0
    for i in range(args.rounds):
        shift = i % len(servers)
        for server in servers[shift:] + servers[:shift]:
            result = load_run(
                server,
                python,
                work / f"request-{server.key}.json",
                args.concurrency,
                args.seconds,
                record=True,
            )
            children_cpu += result["client_cpu_s"]
            print(
                f"  round {i + 1}: {server.label}: {result['throughput']:,.0f} req/s, "
                f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms",
                flush=True,
            )
    wall = time.perf_counter() - wall0
    servers_cpu = sum(cpu_seconds(tree(s.pid)) for s in servers) - servers_cpu0
    busy1 = _common._machine_busy_seconds()
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime
    active_cpu = sum(r["server_cpu_s"] for s in servers for r in s.runs)
    idle_cpu = max(0.0, servers_cpu - active_cpu)
    others = "unknown"
    if busy0 is not None and busy1 is not None:
        other = max(0.0, busy1 - busy0 - own_cpu - children_cpu - servers_cpu)
        others = f"{other:.1f} CPU s ({other / (wall * (os.cpu_count() or 1)):.0%} of {os.cpu_count()} cores)"
    for server in servers:
        pids = tree(server.pid)
        server.pss_after = pss_bytes(pids)
        server.processes = len(pids)
    load_end = load_average()
    elapsed = time.perf_counter() - started

    # The target: mlform vs the best MLServer figures.
    ours = servers[0]
    theirs = servers[1:]
    best_tp = max(theirs, key=lambda s: median(s, "throughput"))
    best_p99 = min(theirs, key=lambda s: median(s, "p99_ms"))
    ratio = median(ours, "throughput") / median(best_tp, "throughput")
    ok_tp = ratio >= TARGET_RATIO
    ok_p99 = median(ours, "p99_ms") < median(best_p99, "p99_ms")
    results = [
        (
            f"throughput ≥ {TARGET_RATIO:g}× MLServer's best (medians)",
            ok_tp,
            f"{median(ours, 'throughput'):,.0f} vs {median(best_tp, 'throughput'):,.0f} req/s "
            f"({best_tp.label}): {ratio:.1f}×",
        ),
        (
            "p99 latency lower than MLServer's best (medians)",
            ok_p99,
            f"{median(ours, 'p99_ms'):.2f} vs {median(best_p99, 'p99_ms'):.2f} ms ({best_p99.label}): "
            f"{median(best_p99, 'p99_ms') / median(ours, 'p99_ms'):.1f}× lower",
        ),
    ]

    print()
    print(render_table(servers, args.seconds))
    print(
        f"  CPU of the idle servers during the timed runs: {idle_cpu:.1f} s in all; "
        f"other processes: {others}"
    )
    for what, ok, value in results:
        print(f"  target: {'PASS' if ok else 'MISS'}  {what} — {value}")
    print(f"Load average at start: {load_start}; at end: {load_end}")
    print(f"Benchmark wall time: {elapsed:.0f} s")

    if args.write_results:
        section = render_section(
            args=args,
            servers=servers,
            results=results,
            answers=answers,
            worst=worst,
            timed_row=timed_row,
            full_ms=full_ms,
            project=project,
            host=machine(python),
            mlform_versions=versions(python, MLFORM_PACKAGES),
            mlserver_versions=versions(mlserver_python, MLSERVER_PACKAGES),
            loads=(load_start, load_end),
            quiet=quiet,
            others=others,
            idle_cpu=idle_cpu,
            elapsed=elapsed,
        )
        _common.write_section(SECTION, section)
        print(f"Wrote the '{SECTION[3:]}' section of {os.path.relpath(RESULTS, ROOT)}.")
    return 0 if ok_tp and ok_p99 else 1


def _rows(servers: list[Server]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in servers:
        rows.append(
            (
                s.label,
                str(len(s.runs)),
                f"{median(s, 'throughput'):,.0f}",
                f"{median(s, 'p50_ms'):.2f}",
                f"{median(s, 'p90_ms'):.2f}",
                f"{median(s, 'p99_ms'):.2f}",
                f"{max(float(r['p99_ms']) for r in s.runs):.2f}",
                mib(max(r["peak_rss"] for r in s.runs)),
                f"{median(s, 'server_cpu_s') / median(s, 'requests') * 1e6:,.0f}",
                f"{median(s, 'client_cpu_s') / median(s, 'requests') * 1e6:,.0f}",
            )
        )
    return rows


HEADER = (
    "server",
    "runs",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "worst p99 ms",
    "peak RSS",
    "server CPU µs/req",
    "client CPU µs/req",
)


def render_table(servers: list[Server], seconds: float) -> str:
    return text_table([HEADER, *_rows(servers)]) + (
        f"\n  (medians over the rounds of {seconds:g} s runs; worst p99 is the largest run's; "
        "peak RSS of the server's process tree over all runs)"
    )


def render_section(
    *,
    args: argparse.Namespace,
    servers: list[Server],
    results: list[tuple[str, bool, str]],
    answers: dict[str, list[float]],
    worst: float,
    timed_row: dict[str, Any],
    full_ms: float,
    project: Path,
    host: dict[str, str],
    mlform_versions: str,
    mlserver_versions: str,
    loads: tuple[str, str],
    quiet: str,
    others: str,
    idle_cpu: float,
    elapsed: float,
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    options = (
        f"--seconds {args.seconds:g} --warmup {args.warmup:g} --rounds {args.rounds} "
        f"--concurrency {args.concurrency} --mlserver-variants {args.mlserver_variants}"
    )
    if args.quiet_wait > 0:
        options += f" --quiet-wait {args.quiet_wait:g}"

    ours = servers[0]
    out = [
        SECTION,
        "",
        f"Measured {now} at commit {git_revision()} with "
        f"`python benchmarks/bench_serving.py {options}"
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
        f"- CPU time used by other processes during the timed runs (machine busy time from "
        f"/proc/stat minus the benchmark, the load generator and every server's process tree): "
        f"{others}; the idle servers used {idle_cpu:.1f} CPU s in all while another was under load",
        f"- mlform's venv: {mlform_versions}",
        f"- MLServer's venv ({args.mlserver.resolve().parent.parent}): {mlserver_versions}",
        "",
        f"**Set-up** (untimed): `examples/credit-risk` copied to "
        f"`{os.path.relpath(project, ROOT)}`, `git init`, `dvc init`, commit, `dvc repro` "
        f"({full_ms / 1000:.1f} s). Both servers serve what that run made: mlform the exported "
        f"`{bench_pipeline.ONNX}`, MLServer the trained `{bench_pipeline.PIPELINE}` (the same "
        "scikit-learn pipeline the ONNX model was exported from). Every server listens on "
        "127.0.0.1 on a free port and runs for the whole measurement; the load is on one "
        "server at a time.",
        "",
        "**Servers**",
        "",
    ]
    for s in servers:
        out.append(
            f"- {s.label}: `{s.shown}` — {s.setting}; ready {s.started_s:.1f} s after start; "
            f"{s.processes} process{'es' if s.processes != 1 else ''}"
        )
    out += [
        "",
        "mlform's config (`ServeConfig` JSON): deployment `bench-serving`, host 127.0.0.1, the "
        f"model `{MODEL}` {VERSION} at the ONNX file with its sha256, weight 100, default limits, "
        '`prediction_log.folder: ""` (no prediction log). MLServer\'s `model-settings.json`: '
        f'`{{"name": "{MODEL}", "implementation": "mlserver_sklearn.SKLearnModel", '
        f'"parameters": {{"uri": ".../pipeline.joblib", "version": "{VERSION}"}}}}`; its '
        "`settings.json` holds the host and the three ports, plus the variant's settings.",
        "",
        "**Requests**: one row, the 8 inputs "
        + ", ".join(f"{k}={v!r}" for k, v in timed_row.items())
        + f". mlform: `POST /v2/models/{MODEL}/infer` with one `[1, 1]` tensor per input "
        "(FP64 numbers, BYTES categories), all outputs (label and probabilities). MLServer: "
        f'`POST /v2/models/{MODEL}/infer` with `"parameters": {{"content_type": "pd"}}` '
        "(pandas codec), one `[1]` input per column, same datatypes, and "
        '`"outputs": [{"name": "predict_proba"}]`, so both compute probabilities. Answers '
        "to the timed row: "
        + "; ".join(f"{k} {[round(v, 6) for v in a]}" for k, a in answers.items())
        + f". Before timing, every server answered the first {PARITY_ROWS} complete rows of "
        f"`data/credit.csv`: max |Δ probability| against mlform {worst:.2g} "
        f"(required < {PARITY_TOLERANCE:g}).",
        "",
        "**Load**: `python benchmarks/loadgen.py URL BODY --concurrency "
        f"{args.concurrency} --seconds {args.seconds:g}` (keep-alive HTTP/1.1, asyncio, one "
        f"process on the same 2 cores as the servers), after one {args.warmup:g} s warm-up run "
        f"per server; {args.rounds} rounds, every server once per round, the order rotating. "
        "Every response had status 200 and no connection failed.",
        "",
        "**Results** (medians over the rounds; worst p99 is the largest of the runs; peak RSS is "
        "the largest sum of RSS over the server's process tree, sampled every 100 ms during "
        "the runs; PSS after the runs splits shared pages between the tree's processes; CPU "
        "per request from /proc (server tree) and getrusage (load generator))",
        "",
        "| server | req/s | p50 | p90 | p99 | worst p99 | peak RSS | RSS idle / PSS after | server CPU / req | client CPU / req |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in servers:
        out.append(
            f"| {s.label} | {median(s, 'throughput'):,.0f} | {median(s, 'p50_ms'):.2f} ms | "
            f"{median(s, 'p90_ms'):.2f} ms | {median(s, 'p99_ms'):.2f} ms | "
            f"{max(float(r['p99_ms']) for r in s.runs):.2f} ms | "
            f"{mib(max(r['peak_rss'] for r in s.runs))} | {mib(s.idle_rss)} / "
            f"{mib(s.pss_after) if s.pss_after is not None else '?'} | "
            f"{median(s, 'server_cpu_s') / median(s, 'requests') * 1e6:,.0f} µs | "
            f"{median(s, 'client_cpu_s') / median(s, 'requests') * 1e6:,.0f} µs |"
        )
    out += ["", "Every run (req/s, p50 / p99 ms):", ""]
    for s in servers:
        out.append(
            f"- {s.label}: "
            + "; ".join(
                f"{r['throughput']:,.0f}, {r['p50_ms']:.2f} / {r['p99_ms']:.2f}" for r in s.runs
            )
        )
    out += [
        "",
        "| target | measured | result |",
        "| --- | --- | --- |",
    ]
    for what, ok, value in results:
        out.append(f"| {what} | {value} | {'PASS' if ok else '**MISS**'} |")
    mlform_cpu = median(ours, "server_cpu_s") / median(ours, "requests") * 1e6
    client_cpu = median(ours, "client_cpu_s") / median(ours, "requests") * 1e6
    mlform_busy = median(ours, "server_cpu_s") / median(ours, "seconds")
    defaults = next((s for s in servers if s.key == "mlserver-defaults"), None)
    out += [
        "",
        "**Notes**",
        "",
        "- The load generator shares the 2 cores with the server under test. Under mlform's "
        f"load it used about {client_cpu:,.0f} µs of CPU per request and the server "
        f"{mlform_cpu:,.0f} µs, the server process being busy {mlform_busy:.0%} of the wall "
        "time (CPU seconds / run seconds, medians): mlform's server is one process with one "
        "event loop, so about one core is its ceiling"
        + (
            ", and it is at that ceiling here; the client is not the bottleneck."
            if mlform_busy >= 0.85
            else f"; at {mlform_busy:.0%} it is below that ceiling, so the client or the "
            "machine's other load limited the rate."
        ),
        "- MLServer's defaults are a handicap on this machine: HistGradientBoosting predicts "
        "with an OpenMP pool of one thread per core, whose spinning threads compete with the "
        "server's event loop and the client, and the default parallel worker adds a process "
        "hop per request."
        + (
            f" Here the defaults reached a median p99 of {median(defaults, 'p99_ms'):.0f} ms "
            f"and a worst p99 of {max(float(r['p99_ms']) for r in defaults.runs):.0f} ms."
            if defaults is not None
            else ""
        )
        + " The better configuration(s) above are reported too, and the target uses the best "
        "MLServer figure for each measure.",
        "- MLServer answers with the scikit-learn pipeline (float64 `predict_proba` through "
        "pandas); mlform with the ONNX export of the same pipeline (onnxruntime, float32 "
        "probabilities): what each serves by design. The comparison is of the serving stacks "
        "as shipped, runtime included.",
        "- MLServer is installed from PyPI in its own venv (`bench_serving.py "
        "--install-mlserver`), with the scikit-learn version of mlform's venv (the pickle needs "
        "it), mlform without dependencies (the pickle holds mlform's `Impute` and `Clip` "
        "transformers), and `uvloop<0.22`: with uvloop 0.22 or later, MLServer 1.7.1's "
        "parallel inference workers die at start (`asyncio.get_event_loop()` raises "
        "'There is no current event loop') and no model loads. MLServer's uvicorn runs "
        "without httptools (not among MLServer's dependencies), so it parses HTTP with h11.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
