#!/usr/bin/env python3
"""Serving benchmark, in one run: mlform's server as `mlform apply` deploys it, side by side
with the fairest peers serving the same ONNX model to the same client (issues 4 and 12).

    /work/venv/bin/python benchmarks/bench_serving.py [--write-results]
    /work/venv/bin/python benchmarks/bench_serving.py --install-mlserver   # set-up, once

Rows (every one serves the credit-risk example's model to single-row V2 JSON requests over
keep-alive HTTP/1.1 from benchmarks/loadgen.py, 8 connections, on 127.0.0.1):

  (a) mlform serve, the config exactly as `mlform apply` wrote it: prediction log on (every
      request logged, the retention compile sized for the example's Monitor), default
      limits, no token (apply on a loopback address): the headline row;
  (b) the same server and config with the prediction log off: not what apply deploys;
  (c) a ~40-line FastAPI + onnxruntime app (peer_fastapi_onnx.py), uvicorn with uvloop and
      httptools, no access log, one worker, in its own venv (--peer-python);
  (d) an ASGI hello world (hello_asgi.py) under the same uvicorn, uvloop and httptools as
      mlform: the floor of any Python server on this stack;
  (e) MLServer serving the same ONNX file through a ~25-line custom runtime
      (mlserver_onnx_runtime.py), in MLServer's venv (--mlserver);
  (f) MLServer's scikit-learn runtime serving the trained pipeline the ONNX model was
      exported from (pandas codec, predict_proba): what `target: mlserver` deploys.

MLServer runs with --mlserver-variants (default "tuned": one process, no access log, one
OpenMP thread; "defaults" adds its defaults as further rows; "none" leaves MLServer out, for
development runs: its p99 target is then not measured, which counts as missed, and
--write-results is refused).

Targets (all medians over the rounds; exit 1 when one is missed):
  - (a)'s throughput >= 1.5x (c)'s, and >= 0.25x (d)'s;
  - (a)'s p99 latency lower than (c)'s and (e)'s.

Set-up (untimed): `mlform init --example credit-risk` in benchmarks/.work/serving, a free
port, commit, `mlform apply --auto-approve` (the pipeline runs, the version is registered,
the server starts); the server apply started is stopped and run again from the config file
apply wrote (`python -m mlform serve --config .mlform/serve/<deployment>/config.json`, the
command apply runs). Every server listens on a free port of 127.0.0.1 and runs for the whole
measurement, idle while another is under load.

Before timing, every server answers the same 20 rows of the data with probabilities that
agree with mlform's to 1e-4 (otherwise exit 2); each gets a warm-up run. Then --rounds
rounds, each running the load generator against every server for --seconds, the order
rotating. Per run: throughput, p50/p90/p99 latency, peak RSS of the server's process tree,
CPU seconds of the server tree and of the load generator, and the CPU other processes of the
machine used meanwhile. After the runs, mlform's prediction log is checked: every line a
complete JSON record.

Exit status: 0 when every target is met, 1 when one is missed, 2 when a precondition fails.
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
import bench_plan  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    ROOT,
    Precondition,
    find_tool,
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
DEPLOYMENT = bench_plan.DEPLOYMENT
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
TARGET_PEER = 1.5  # (a) / FastAPI + onnxruntime
TARGET_FLOOR = 0.25  # (a) / hello world
PARITY_ROWS = 20
PARITY_TOLERANCE = 1e-4
DEFAULT_MLSERVER = Path("/work/mlserver-venv/bin/mlserver")
DEFAULT_PEER_PYTHON = Path("/work/peer-venv/bin/python")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]

# MLServer configurations: settings.json additions and environment additions. "defaults" is
# MLServer as installed (parallel_workers 1, debug true, OpenMP threads = cores).
MLSERVER_VARIANTS: dict[str, tuple[dict[str, Any], dict[str, str], str]] = {
    "defaults": (
        {},
        {},
        "MLServer's defaults: parallel_workers 1 (inference in one separate worker process, "
        "requests and responses passed over multiprocessing queues), debug true (uvicorn "
        "access log of every request), gzip on, gRPC and metrics servers on their own ports, "
        f"OpenMP at its default (one thread per core: {os.cpu_count()})",
    ),
    "tuned": (
        {"parallel_workers": 0, "debug": False},
        {"OMP_NUM_THREADS": "1"},
        "OMP_NUM_THREADS=1, parallel_workers 0 (inference in the server process, no queue "
        "hop), debug false (no access log)",
    ),
}
MLSERVER_PACKAGES = (
    "mlserver",
    "mlserver-sklearn",
    "scikit-learn",
    "onnxruntime",
    "numpy",
    "pandas",
    "uvicorn",
    "uvloop",
    "fastapi",
    "starlette",
)
PEER_PACKAGES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "onnxruntime", "numpy")
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
    key: str  # "mlform-apply", "fastapi-onnx", ...
    label: str
    argv: list[str]
    shown: str  # the command as a person types it
    cwd: Path
    env: dict[str, str]
    port: int
    log: Path
    setting: str  # what is configured, for the record
    what: str = ""  # what the row measures, shown in the table
    wanted: str = "probabilities"  # the output holding the probabilities ("" for none)
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


def mlform_server(
    key: str, python: str, config: Path, cwd: Path, env: dict[str, str], log_on: bool
) -> Server:
    served = json.loads(config.read_text())
    log = served["prediction_log"]
    what = (
        "mlform serve as `mlform apply` deploys it: its config file as apply wrote it "
        f"(prediction log on, sample {log['sample_rate']:g}, {log['backups']} rotated files "
        f"of {log['max_bytes'] // 1024 // 1024} MiB; default limits; no token)"
        if log_on
        else "the same server and config with the prediction log off "
        '(`prediction_log.folder: ""`): not what apply deploys'
    )
    return Server(
        key=key,
        label="mlform (apply: log on)" if log_on else "mlform (log off)",
        argv=[python, "-m", "mlform", "serve", "--config", str(config)],
        shown=f"python -m mlform serve --config {os.path.relpath(config, ROOT)}",
        cwd=cwd,
        env=env,
        port=int(served["port"]),
        log=config.parent / f"bench-{key}.log",
        setting="one process: uvicorn with uvloop and httptools, onnxruntime with one "
        "intra-op thread per run, metrics in-process",
        what=what,
    )


def log_off_config(applied: Path, work: Path) -> Path:
    """apply's config with the prediction log off and another port."""
    served = json.loads(applied.read_text())
    served["port"] = free_port()
    served["prediction_log"] = {**served["prediction_log"], "folder": ""}
    served["metrics_files"] = []
    path = work / "mlform-log-off.json"
    path.write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
    return path


def uvicorn_server(
    key: str, python: str, target: str, work: Path, env: dict[str, str], **kw: str
) -> Server:
    port = free_port()
    argv = [python, "-m", "uvicorn", target, "--app-dir", str(HERE), "--port", str(port)]
    argv += [*UVICORN, "--host", "127.0.0.1"]
    return Server(
        key=key,
        argv=argv,
        shown=" ".join(["python", "-m", "uvicorn", target, "--app-dir benchmarks", *UVICORN]),
        cwd=work,
        env=env,
        port=port,
        log=work / f"{key}.log",
        **kw,  # type: ignore[arg-type]
    )


def fastapi_server(python: str, onnx: Path, work: Path, env: dict[str, str]) -> Server:
    return uvicorn_server(
        "fastapi-onnx",
        python,
        "peer_fastapi_onnx:app",
        work,
        {**env, "MODEL": str(onnx)},
        label="FastAPI + onnxruntime",
        setting="uvicorn with uvloop and httptools, one worker, no access log; onnxruntime "
        "with one intra-op thread, as mlform",
        what="a hand-written FastAPI + onnxruntime app (peer_fastapi_onnx.py): the same ONNX "
        "model and V2 request; no validation, no log, no metrics",
    )


def hello_server(python: str, work: Path, env: dict[str, str]) -> Server:
    server = uvicorn_server(
        "hello",
        python,
        "hello_asgi:app",
        work,
        env,
        label="ASGI hello world",
        setting="mlform's venv: the same uvicorn, uvloop and httptools as mlform",
        what="uvicorn + httptools answering a constant JSON body (hello_asgi.py): the floor "
        "of a Python server on this stack, no model",
    )
    server.argv.extend(["--lifespan", "off"])
    server.wanted = ""
    return server


def mlserver_server(
    mlserver: Path,
    work: Path,
    runtime: str,
    uri: Path,
    variant: str,
    env: dict[str, str],
) -> Server:
    extra_settings, extra_env, described = MLSERVER_VARIANTS[variant]
    key = f"mlserver-{runtime}-{variant}"
    folder = work / key
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
    implementation = (
        "mlserver_onnx_runtime.OnnxModel" if runtime == "onnx" else "mlserver_sklearn.SKLearnModel"
    )
    model_settings = {
        "name": MODEL,
        "implementation": implementation,
        "parameters": {"uri": str(uri), "version": "v0.1.0"},
    }
    (folder / MODEL / "model-settings.json").write_text(json.dumps(model_settings, indent=2) + "\n")
    shown_env = " ".join(f"{k}={v}" for k, v in extra_env.items())
    runtime_env = {"PYTHONPATH": str(HERE)} if runtime == "onnx" else {}
    what = (
        "MLServer with a custom runtime (mlserver_onnx_runtime.py) serving the same ONNX "
        "model to the same V2 request"
        if runtime == "onnx"
        else "MLServer's scikit-learn runtime serving the pipeline the ONNX model was exported "
        "from (pandas codec, predict_proba): what `target: mlserver` deploys"
    )
    return Server(
        key=key,
        label=f"MLServer {'ONNX runtime' if runtime == 'onnx' else 'scikit-learn'} ({variant})",
        argv=[str(mlserver), "start", str(folder)],
        shown=(shown_env + " " if shown_env else "")
        + f"mlserver start {os.path.relpath(folder, ROOT)}",
        cwd=folder,
        env={**env, **extra_env, **runtime_env},
        port=port,
        log=work / f"{key}.log",
        setting=described,
        what=what,
        wanted="probabilities" if runtime == "onnx" else "predict_proba",
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


def body_for(server: Server, row: dict[str, Any]) -> bytes:
    return mlserver_body(row) if server.wanted == "predict_proba" else mlform_body(row)


def probabilities(server: Server, body: bytes) -> list[float]:
    status, raw = http("POST", server.url, body)
    if status != 200:
        raise Precondition(
            f"{server.label} answered {status} to a single-row request: {raw[:500]!r}"
        )
    response = json.loads(raw)
    for output in response.get("outputs", []):
        if output.get("name") == server.wanted:
            values = [float(v) for v in output["data"]]
            if len(values) != 2 or abs(sum(values) - 1.0) > 1e-5:
                raise Precondition(
                    f"{server.label}: '{server.wanted}' is not a probability pair: {values}"
                )
            return values
    raise Precondition(f"{server.label}: no '{server.wanted}' output in {raw[:500]!r}")


def parity(servers: list[Server], rows: list[dict[str, Any]]) -> float:
    """Largest difference between any server's probabilities and mlform's, over ``rows``."""
    worst = 0.0
    models = [s for s in servers if s.wanted]
    for row in rows:
        answers = {s.key: probabilities(s, body_for(s, row)) for s in models}
        reference = answers[models[0].key]
        for key, values in answers.items():
            diff = max(abs(a - b) for a, b in zip(values, reference, strict=True))
            if diff >= PARITY_TOLERANCE:
                raise Precondition(
                    f"{key} and mlform disagree by {diff:.3g} (>= {PARITY_TOLERANCE:g}) on row "
                    f"{row}: {values} vs {reference}"
                )
            worst = max(worst, diff)
    return worst


def check_log(folder: Path) -> tuple[int, int]:
    """(files, records) of the prediction log; a Precondition if a line is not a complete
    JSON record of the model."""
    records = 0
    paths = sorted(folder.glob("predictions.jsonl*"))
    for path in paths:
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            try:
                record = json.loads(line)
            except ValueError:
                raise Precondition(f"{path}:{number}: not a JSON line: {line[:200]!r}") from None
            if record.get("model") != MODEL or not isinstance(record.get("inputs"), dict):
                raise Precondition(f"{path}:{number}: not a prediction record: {line[:200]!r}")
            records += 1
    return len(paths), records


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
def install_mlserver(venv: Path, peer_venv: Path, python: str) -> int:
    """Make ``venv`` with MLServer, its scikit-learn runtime, onnxruntime (for the custom
    ONNX runtime, mlserver_onnx_runtime.py), the scikit-learn of mlform's venv (the pickle
    needs it), and mlform itself without dependencies (the pickle holds mlform's transformer
    classes); and ``peer_venv`` with FastAPI, uvicorn, uvloop, httptools and onnxruntime for
    the hand-written peer (peer_fastapi_onnx.py)."""
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
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install"]
    peer_pip = [str(peer_venv / "bin" / "python"), "-m", "pip", "install"]
    steps = [
        [str(Path(base) / "bin" / "python3"), "-m", "venv", str(venv)],
        [*pip, "--upgrade", "pip"],
        # uvloop 0.22+ makes asyncio.get_event_loop() raise without a running loop, which
        # MLServer 1.7's parallel inference workers call at start: they die and no model
        # loads. The uvloop of MLServer's release time works.
        [
            *pip,
            "mlserver",
            "mlserver-sklearn",
            f"scikit-learn=={sklearn}",
            "uvloop<0.22",
            "onnxruntime",
        ],
        [*pip, "--no-deps", "-e", str(ROOT)],
        [str(Path(base) / "bin" / "python3"), "-m", "venv", str(peer_venv)],
        [*peer_pip, "--upgrade", "pip"],
        [*peer_pip, "fastapi", "uvicorn", "uvloop", "httptools", "onnxruntime", "numpy"],
    ]
    for argv in steps:
        print("$ " + " ".join(argv), flush=True)
        done = subprocess.run(argv, check=False)
        if done.returncode != 0:
            print(f"PRECONDITION FAILED: `{' '.join(argv)}` exited {done.returncode}")
            return 2
    print(
        f"MLServer is installed in {venv}, the FastAPI peer in {peer_venv}; run the benchmark "
        f"with --mlserver {venv}/bin/mlserver --peer-python {peer_venv}/bin/python"
    )
    return 0


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serving benchmark: mlform as apply deploys it vs peers."
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the warm-up run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (every server once each)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument(
        "--mlserver-variants",
        default="tuned",
        help="MLServer configurations, comma-separated, from: "
        + ", ".join(MLSERVER_VARIANTS)
        + " (default: tuned); each runs with both runtimes; none: no MLServer rows",
    )
    parser.add_argument(
        "--mlserver",
        type=Path,
        default=DEFAULT_MLSERVER,
        help=f"the mlserver executable of MLServer's venv (default {DEFAULT_MLSERVER})",
    )
    parser.add_argument(
        "--peer-python",
        type=Path,
        default=DEFAULT_PEER_PYTHON,
        help=f"the Python of the FastAPI peer's venv (default {DEFAULT_PEER_PYTHON})",
    )
    parser.add_argument(
        "--install-mlserver",
        action="store_true",
        help="make MLServer's venv (the parent of --mlserver's bin directory) and the peer's "
        "(of --peer-python), then exit",
    )
    parser.add_argument(
        "--work", type=Path, default=HERE / ".work", help="where the example is applied and run"
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
    variants = [v.strip() for v in args.mlserver_variants.split(",") if v.strip()]
    if variants == ["none"]:
        variants = []
        if args.write_results:
            parser.error("--write-results needs the MLServer rows (not --mlserver-variants none)")
    unknown = [v for v in variants if v not in MLSERVER_VARIANTS]
    if unknown or (not variants and args.mlserver_variants.strip() != "none"):
        parser.error(f"unknown MLServer variants {unknown}; choose from {list(MLSERVER_VARIANTS)}")
    if args.install_mlserver:
        mlform = find_tool("mlform", args.mlform)
        return install_mlserver(
            args.mlserver.parent.parent, args.peer_python.parent.parent, interpreter_of(mlform)
        )
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


def _preconditions(args: argparse.Namespace, python: str, with_mlserver: bool = True) -> str:
    """MLServer's venv and the peer's can run their rows; MLServer's Python ("" without)."""
    if not with_mlserver:
        _peer_precondition(args)
        return ""
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
            "import mlserver_sklearn, onnxruntime, mlform.runtime.transformers, sklearn; "
            "print(sklearn.__version__)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise Precondition(
            f"MLServer's venv ({mlserver_python}) cannot import mlserver_sklearn, onnxruntime, "
            f"scikit-learn and mlform's transformers (--install-mlserver makes it):\n{tail(check)}"
        )
    ours = subprocess.run(
        [python, "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if check.stdout.strip().split(".")[:2] != ours.split(".")[:2]:
        raise Precondition(
            f"MLServer's venv has scikit-learn {check.stdout.strip()}, mlform's {ours}: the "
            "pickle needs the same major.minor"
        )
    _peer_precondition(args)
    return mlserver_python


def _peer_precondition(args: argparse.Namespace) -> None:
    peer = subprocess.run(
        [str(args.peer_python), "-c", "import fastapi, uvicorn, uvloop, httptools, onnxruntime"],
        capture_output=True,
        text=True,
        check=False,
    )
    if peer.returncode != 0:
        raise Precondition(
            f"the peer's Python ({args.peer_python}) cannot import fastapi, uvicorn, uvloop, "
            f"httptools and onnxruntime (--install-mlserver makes its venv):\n{tail(peer)}"
        )


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
    python = interpreter_of(mlform)
    mlserver_python = _preconditions(args, python, bool(variants))

    # Set-up: a real apply of the example; its server is then run from apply's config file.
    work = (args.work / "serving").resolve()
    work.mkdir(parents=True, exist_ok=True)
    project = work / "credit-risk"
    env = {**os.environ, "PATH": f"{mlform.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MLFORM_SERVER_TOKEN", None)  # apply on 127.0.0.1 runs without one
    begin = time.perf_counter()
    _, apply_ms, summary = bench_plan.apply_example(mlform, project, env)
    stopped = bench_plan.stop_server(mlform, project, env)
    print(
        f"Applied {os.path.relpath(project, ROOT)} in {apply_ms / 1000:.1f} s ({summary}); "
        f"{stopped}",
        flush=True,
    )
    folder = project / ".mlform" / "serve" / DEPLOYMENT
    applied = folder / "config.json"
    served = json.loads(applied.read_text())
    onnx = Path(served["models"][0]["path"])
    pipeline = onnx.parent / "pipeline.joblib"
    logs = Path(served["prediction_log"]["folder"])
    if not served["prediction_log"]["folder"] or not pipeline.is_file():
        raise Precondition(f"{applied} has no prediction log, or {pipeline} is missing")
    setup_s = time.perf_counter() - begin

    # The servers' environment: no OpenMP or MLServer settings leak in from outside.
    server_env = {
        k: v for k, v in env.items() if not k.startswith("MLSERVER_") and k != "OMP_NUM_THREADS"
    }
    servers.append(mlform_server("mlform-apply", python, applied, folder, server_env, True))
    off = log_off_config(applied, work)
    servers.append(mlform_server("mlform-log-off", python, off, work, server_env, False))
    servers.append(fastapi_server(str(args.peer_python), onnx, work, server_env))
    servers.append(hello_server(python, work, server_env))
    for variant in variants:
        servers.append(mlserver_server(args.mlserver, work, "onnx", onnx, variant, server_env))
        servers.append(
            mlserver_server(args.mlserver, work, "sklearn", pipeline, variant, server_env)
        )
    for server in servers:
        server.start()
        print(f"{server.label}: ready in {server.started_s:.1f} s at {server.url}", flush=True)

    # Requests, and the answers checked before timing.
    rows = complete_rows(project / "data" / "credit.csv", PARITY_ROWS)
    worst = parity(servers, rows)
    timed_row = rows[0]
    answers = {}
    for server in servers:
        server.body = body_for(server, timed_row)
        (work / f"request-{server.key}.json").write_bytes(server.body)
        if server.wanted:
            answers[server.label] = probabilities(server, server.body)
    print(
        f"Preconditions: the servers agree on {PARITY_ROWS} rows (max |Δ probability| "
        f"{worst:.2g}); timed row {timed_row}",
        flush=True,
    )

    for server in servers:  # warm-up
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
    wall0, busy0 = time.perf_counter(), _common._machine_busy_seconds()
    mine0 = _common._own_cpu_seconds() + sum(cpu_seconds(tree(s.pid)) for s in servers)
    for i in range(args.rounds):
        shift = i % len(servers)
        for server in servers[shift:] + servers[:shift]:
            before = (
                time.perf_counter(),
                _common._machine_busy_seconds(),
                _common._own_cpu_seconds() + sum(cpu_seconds(tree(s.pid)) for s in servers),
            )
            result = load_run(
                server,
                python,
                work / f"request-{server.key}.json",
                args.concurrency,
                args.seconds,
                record=True,
            )
            result["others_share"] = _others(before, servers)
            print(
                f"  round {i + 1}: {server.label}: {result['throughput']:,.0f} req/s, "
                f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, server CPU "
                f"{result['server_cpu_s'] / result['requests'] * 1e6:,.0f} µs/req, other "
                f"processes {_share(result['others_share'])} of the CPUs",
                flush=True,
            )
    overall = _others((wall0, busy0, mine0), servers)
    other_load = f"{_share(overall)} of {os.cpu_count()} cores"
    for server in servers:
        pids = tree(server.pid)
        server.pss_after = pss_bytes(pids)
        server.processes = len(pids)
    for server in servers:  # a clean stop: the log is flushed
        server.stop()
    files, records = check_log(logs)
    load_end = load_average()
    elapsed = time.perf_counter() - started

    results = targets(servers)
    print()
    print(render_table(servers, args.seconds))
    print(
        f"  mlform's prediction log after the runs: {records:,} records in {files} file(s), "
        "every line a complete JSON record"
    )
    print(f"  other processes during the timed runs: {other_load}")
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
            apply=(apply_ms, summary, setup_s),
            served=served,
            log=(files, records),
            host=machine(python),
            mlform_versions=versions(python, MLFORM_PACKAGES),
            peer_versions=versions(str(args.peer_python), PEER_PACKAGES),
            mlserver_versions=versions(mlserver_python, MLSERVER_PACKAGES),
            loads=(load_start, load_end),
            quiet=quiet,
            others=other_load,
            elapsed=elapsed,
        )
        _common.write_section(SECTION, section)
        print(f"Wrote the '{SECTION[3:]}' section of {os.path.relpath(RESULTS, ROOT)}.")
    return 0 if all(ok for _, ok, _ in results) else 1


def _others(before: tuple[float, float | None, float], servers: list[Server]) -> float | None:
    """The share of the machine's CPUs that processes other than the benchmark's (this
    process, its children such as the load generator, every server's tree) used since
    ``before`` (wall time, machine busy seconds, the benchmark's CPU seconds)."""
    wall0, busy0, mine0 = before
    busy1 = _common._machine_busy_seconds()
    if busy0 is None or busy1 is None:
        return None
    mine1 = _common._own_cpu_seconds() + sum(cpu_seconds(tree(s.pid)) for s in servers)
    capacity = (time.perf_counter() - wall0) * (os.cpu_count() or 1)
    return max(0.0, (busy1 - busy0) - (mine1 - mine0)) / capacity if capacity else None


def _share(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _by(servers: list[Server], key: str) -> Server:
    return next(s for s in servers if s.key == key)


def targets(servers: list[Server]) -> list[tuple[str, bool, str]]:
    ours = _by(servers, "mlform-apply")
    peer = _by(servers, "fastapi-onnx")
    floor = _by(servers, "hello")
    onnx = [s for s in servers if s.key.startswith("mlserver-onnx")]
    best_onnx = min(onnx, key=lambda s: median(s, "p99_ms")) if onnx else None
    tp = median(ours, "throughput")
    out = []
    ratio = tp / median(peer, "throughput")
    out.append(
        (
            f"throughput ≥ {TARGET_PEER:g}× FastAPI + onnxruntime",
            ratio >= TARGET_PEER,
            f"{tp:,.0f} vs {median(peer, 'throughput'):,.0f} req/s: {ratio:.2f}×",
        )
    )
    ratio = tp / median(floor, "throughput")
    out.append(
        (
            f"throughput ≥ {TARGET_FLOOR:g}× the ASGI hello world",
            ratio >= TARGET_FLOOR,
            f"{tp:,.0f} vs {median(floor, 'throughput'):,.0f} req/s: {ratio:.2f}×",
        )
    )
    if best_onnx is None:
        out.append(
            (
                "p99 latency lower than MLServer ONNX runtime's",
                False,
                "not measured (--mlserver-variants none)",
            )
        )
    for other in (peer, best_onnx) if best_onnx is not None else (peer,):
        mine, theirs = median(ours, "p99_ms"), median(other, "p99_ms")
        out.append(
            (
                f"p99 latency lower than {other.label}'s",
                mine < theirs,
                f"{mine:.2f} vs {theirs:.2f} ms",
            )
        )
    return out


def _rows(servers: list[Server]) -> list[tuple[str, ...]]:
    ours = median(_by(servers, "mlform-apply"), "throughput")
    rows: list[tuple[str, ...]] = []
    for s in servers:
        rows.append(
            (
                s.label,
                f"{median(s, 'throughput'):,.0f}",
                f"{ours / median(s, 'throughput'):.2f}×",
                f"{median(s, 'p50_ms'):.2f}",
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
    "req/s",
    "(a) ÷ it",
    "p50 ms",
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
    apply: tuple[float, str, float],
    served: dict[str, Any],
    log: tuple[int, int],
    host: dict[str, str],
    mlform_versions: str,
    peer_versions: str,
    mlserver_versions: str,
    loads: tuple[str, str],
    quiet: str,
    others: str,
    elapsed: float,
) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    options = (
        f"--seconds {args.seconds:g} --warmup {args.warmup:g} --rounds {args.rounds} "
        f"--concurrency {args.concurrency} --mlserver-variants {args.mlserver_variants}"
    )
    if args.quiet_wait > 0:
        options += f" --quiet-wait {args.quiet_wait:g}"
    ours = _by(servers, "mlform-apply")
    prediction_log = served["prediction_log"]
    out = [
        SECTION,
        "",
        f"Measured {now} at commit {_common.git_revision()} with "
        f"`python benchmarks/bench_serving.py {options}"
        f"{' --write-results' if args.write_results else ''}` (whole run: {elapsed:.0f} s).",
        "",
        "**Machine**",
        "",
        f"- CPU: {host['cpu']}; {host['cores']}",
        f"- RAM: {host['ram']}",
        f"- Python: {host['python']}",
        f"- OS: {host['os']}",
        f"- Load average (1, 5, 15 min): {loads[0]} at the start of the run, {loads[1]} at the "
        f"end (before starting, `--quiet-wait`: {quiet})",
        f"- CPU time used by other processes during the timed runs (machine busy time from "
        f"/proc/stat minus the benchmark's own processes): {others}; per run in the list below",
        f"- mlform's venv: {mlform_versions}",
        f"- the FastAPI peer's venv ({args.peer_python.resolve().parent.parent}): {peer_versions}",
        f"- MLServer's venv ({args.mlserver.resolve().parent.parent}): {mlserver_versions}",
        "",
        f"**Set-up** (untimed, {apply[2]:.0f} s): `mlform init --example credit-risk`, a free "
        f"port, commit, `mlform apply --auto-approve` ({apply[0] / 1000:.1f} s: {apply[1]}). "
        "The server apply started is stopped and started again with the command apply runs, "
        f"on the config file apply wrote: prediction log on (sample_rate "
        f"{prediction_log['sample_rate']:g}, {prediction_log['backups']} rotated files of "
        f"{prediction_log['max_bytes'] // 1024 // 1024} MiB: what compile sized for the "
        "example's Monitor window at the Deployment's design rate), default limits, no token "
        "(a loopback address). Every server serves what that apply registered: the ONNX file "
        "(mlform, FastAPI, MLServer's ONNX runtime) or the pipeline it was exported from "
        "(MLServer's scikit-learn runtime). Every server listens on 127.0.0.1 on a free port "
        "and runs for the whole measurement; the load is on one server at a time.",
        "",
        "**Rows**",
        "",
    ]
    for s in servers:
        out.append(
            f"- **{s.label}**: {s.what}. `{s.shown}` — {s.setting}; ready {s.started_s:.1f} s "
            f"after start; {s.processes} process{'es' if s.processes != 1 else ''}"
        )
    out += [
        "",
        "**Requests**: one row, the 8 inputs "
        + ", ".join(f"{k}={v!r}" for k, v in timed_row.items())
        + f": `POST /v2/models/{MODEL}/infer` with one `[1, 1]` tensor per input (FP64 "
        "numbers, BYTES categories), all outputs, to every server but MLServer's scikit-learn "
        'runtime, which gets the same row with `"parameters": {"content_type": "pd"}`, `[1]` '
        'inputs and `"outputs": [{"name": "predict_proba"}]`. Answers to the timed row: '
        + "; ".join(f"{k} {[round(v, 6) for v in a]}" for k, a in answers.items())
        + f". Before timing, every server answered the first {PARITY_ROWS} complete rows of "
        f"`data/credit.csv`: max |Δ probability| against mlform {worst:.2g} "
        f"(required < {PARITY_TOLERANCE:g}).",
        "",
        "**Load**: `python benchmarks/loadgen.py URL BODY --concurrency "
        f"{args.concurrency} --seconds {args.seconds:g}` (keep-alive HTTP/1.1, asyncio, one "
        f"process on the same 2 cores as the servers), after one {args.warmup:g} s warm-up run "
        f"per server; {args.rounds} rounds, every server once per round, the order rotating. "
        "Every response had status 200 and no connection failed. After the runs and a clean "
        f"stop, mlform's prediction log held {log[1]:,} records in {log[0]} file(s), every "
        "line a complete JSON record.",
        "",
        "**Results** (medians over the rounds; `(a) ÷ it` is mlform-as-applied's throughput "
        "over the row's; worst p99 is the largest of the runs; peak RSS is the largest sum of "
        "RSS over the server's process tree, sampled every 100 ms; CPU per request from /proc "
        "(server tree) and getrusage (load generator))",
        "",
        "| server | what it measures | req/s | (a) ÷ it | p50 | p99 | worst p99 | peak RSS | server CPU / req | client CPU / req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    tp = median(ours, "throughput")
    for s in servers:
        out.append(
            f"| {s.label} | {s.what} | {median(s, 'throughput'):,.0f} | "
            f"{tp / median(s, 'throughput'):.2f}× | {median(s, 'p50_ms'):.2f} ms | "
            f"{median(s, 'p99_ms'):.2f} ms | {max(float(r['p99_ms']) for r in s.runs):.2f} ms | "
            f"{mib(max(r['peak_rss'] for r in s.runs))} | "
            f"{median(s, 'server_cpu_s') / median(s, 'requests') * 1e6:,.0f} µs | "
            f"{median(s, 'client_cpu_s') / median(s, 'requests') * 1e6:,.0f} µs |"
        )
    out += ["", "Every run (req/s, p50 / p99 ms, other processes' share of the CPUs):", ""]
    for s in servers:
        out.append(
            f"- {s.label}: "
            + "; ".join(
                f"{r['throughput']:,.0f}, {r['p50_ms']:.2f} / {r['p99_ms']:.2f}, "
                f"{_share(r.get('others_share'))}"
                for r in s.runs
            )
        )
    out += ["", "| target | measured | result |", "| --- | --- | --- |"]
    for what, ok, value in results:
        out.append(f"| {what} | {value} | {'PASS' if ok else '**MISS**'} |")
    busy = median(ours, "server_cpu_s") / median(ours, "seconds")
    out += [
        "",
        "**Notes**",
        "",
        "- The load generator shares the 2 cores with the server under test. mlform's server "
        f"is one process with one event loop; under load it was busy {busy:.0%} of the wall "
        "time (CPU seconds / run seconds, medians), so "
        + (
            "it was at its one-core ceiling."
            if busy >= 0.85
            else "the client or the machine's other load limited the rate."
        ),
        "- The hello world is a floor, not a peer: it parses no body and runs no model. "
        "FastAPI + onnxruntime is the fairest peer: the same model, request and runtime, "
        "without mlform's checks, prediction log and metrics.",
        "- MLServer's scikit-learn runtime answers with the pipeline (float64 "
        "`predict_proba` through pandas); the others with the ONNX export (onnxruntime, "
        "float32 probabilities).",
        "- MLServer is installed from PyPI in its own venv (`bench_serving.py "
        "--install-mlserver`), with the scikit-learn version of mlform's venv (the pickle "
        "needs it), onnxruntime (its ONNX runtime), mlform without dependencies (the pickle "
        "holds mlform's `Impute` and `Clip` transformers), and `uvloop<0.22`: with uvloop "
        "0.22 or later, MLServer 1.7's parallel inference workers die at start "
        "(`asyncio.get_event_loop()` raises 'There is no current event loop') and no model "
        "loads. MLServer's uvicorn runs without httptools (not among MLServer's "
        "dependencies), so it parses HTTP with h11.",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
