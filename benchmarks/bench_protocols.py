#!/usr/bin/env python3
"""The protocols of mlform's local server side by side (issue 12), in one run: V2 REST JSON,
V2 REST with binary tensor data (what tritonclient.http sends) and the V2 gRPC API (what
tritonclient.grpc sends), against one `mlform serve` as `mlform apply` configures it.

    /work/venv/bin/python benchmarks/bench_protocols.py [--write-results]

Set-up (untimed): examples/credit-risk is copied to benchmarks/.work/protocols/credit-risk,
made a git + DVC repository and `dvc repro` trains and exports the model (as in
bench_pipeline.py). The server's config is what `mlform apply` writes for a Deployment with
`local.grpc_port` (serving/deploy.py): the exported ONNX model with its sha256, the
prediction log on (every request logged), default limits. One server serves all three.

Requests: one row of the data, eight [1, 1] tensors, both outputs asked for; JSON in and
out; binary in and out (`"binary_data_output": true`, as tritonclient.http sends it,
with `Content-Type: application/octet-stream` as loadgen.py always sends one); gRPC with
raw_input_contents. Before timing, the three answer the same 5 rows
with the same probabilities (exact; otherwise exit 2), and each gets a warm-up run. Then
--rounds rounds, each running each protocol's load generator for --seconds with
--concurrency workers, the order rotating: benchmarks/loadgen.py (asyncio, keep-alive
HTTP/1.1 connections) for REST, benchmarks/grpc_loadgen.py (grpc.aio, one channel) for
gRPC; both send prebuilt request bytes. Per run: throughput, p50/p99, the server's and the
load generator's CPU seconds.

Goals (exit 1 when one is missed): every request answered 200/OK; every request counted in
/metrics under its protocol and logged, one prediction log record each, none dropped; REST
binary at least 0.9x the throughput of REST JSON, and gRPC at least 0.5x (its Python client
costs more CPU per request than the HTTP one, on the same 2 cores as the server).
Exit 2 when a precondition fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_pipeline  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    ROOT,
    OtherLoad,
    Precondition,
    find_tool,
    git_revision,
    interpreter_of,
    load_average,
    machine,
    text_table,
    versions,
    wait_until_quiet,
    write_section,
)
from bench_serving import INPUTS, MODEL, complete_rows, free_port, mlform_body  # noqa: E402

VERSION = "v0.1.0"  # the model version the serve config names

SECTION = "## Issue 12 — protocols"
PROTOCOLS = ("REST JSON", "REST binary", "gRPC")
WHAT = {
    "REST JSON": "`POST /v2/models/credit-risk/infer`, `Content-Type: application/json`, "
    "tensors as JSON arrays in and out",
    "REST binary": "the same URL with `Inference-Header-Content-Length` (tritonclient.http's "
    "default): a JSON header, then the tensors' raw bytes; both outputs answered as binary",
    "gRPC": "`inference.GRPCInferenceService/ModelInfer` over HTTP/2 with raw_input_contents "
    "(tritonclient.grpc's default); outputs as raw_output_contents",
}
GOALS = {"REST binary": 0.9, "gRPC": 0.5}  # throughput / REST JSON's, medians
PARITY_ROWS = 5
LOG_PROTOCOL = {"REST JSON": "v2", "REST binary": "v2", "gRPC": "grpc"}


def element(value: Any, datatype: str) -> bytes:
    if datatype == "BYTES":
        raw = str(value).encode()
        return struct.pack("<I", len(raw)) + raw
    return struct.pack("<d", float(value))


def binary_body(row: dict[str, Any]) -> tuple[bytes, int]:
    """The body tritonclient.http builds for one row (no outputs named: all in binary)."""
    blobs = [element(row[name], kind) for name, kind in INPUTS]
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": name,
                    "shape": [1, 1],
                    "datatype": kind,
                    "parameters": {"binary_data_size": len(blob)},
                }
                for (name, kind), blob in zip(INPUTS, blobs, strict=True)
            ],
            "parameters": {"binary_data_output": True},
        },
        separators=(",", ":"),
    ).encode()
    return header + b"".join(blobs), len(header)


def grpc_body(row: dict[str, Any]) -> bytes:
    from mlform.serving.oip import inference_pb2 as pb

    request = pb.ModelInferRequest(model_name=MODEL)
    for name, kind in INPUTS:
        request.inputs.add(name=name, datatype=kind, shape=[1, 1])
        request.raw_input_contents.append(element(row[name], kind))
    return request.SerializeToString()


# --- answers ------------------------------------------------------------------------------
def answer_json(url: str, row: dict[str, Any]) -> list[float]:
    request = urllib.request.Request(
        f"{url}/v2/models/{MODEL}/infer",
        data=mlform_body(row),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        outputs = json.loads(response.read())["outputs"]
    return [float(v) for v in next(o for o in outputs if o["name"] == "probabilities")["data"]]


def answer_binary(url: str, row: dict[str, Any]) -> list[float]:
    import numpy as np

    body, length = binary_body(row)
    request = urllib.request.Request(
        f"{url}/v2/models/{MODEL}/infer",
        data=body,
        headers={"Inference-Header-Content-Length": str(length), "Content-Type": ""},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        size = int(response.headers["Inference-Header-Content-Length"])
        payload = response.read()
    header, offset = json.loads(payload[:size]), size
    for output in header["outputs"]:
        blob = payload[offset : offset + output["parameters"]["binary_data_size"]]
        offset += len(blob)
        if output["name"] == "probabilities":
            return [float(v) for v in np.frombuffer(blob, "<f4")]
    raise Precondition("the binary answer has no probabilities")


def answer_grpc(target: str, row: dict[str, Any]) -> list[float]:
    import grpc
    import numpy as np

    from mlform.serving.oip import inference_pb2 as pb

    with grpc.insecure_channel(target) as channel:
        raw = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")(
            grpc_body(row), timeout=30
        )
    response = pb.ModelInferResponse.FromString(raw)
    index = [o.name for o in response.outputs].index("probabilities")
    return [float(v) for v in np.frombuffer(response.raw_output_contents[index], "<f4")]


# --- the server ---------------------------------------------------------------------------
def server_config(work: Path, onnx: Path) -> dict[str, Any]:
    """What `mlform apply` writes (serving/deploy.py) for a Deployment with a grpc_port."""
    import hashlib

    return {
        "deployment": "credit-risk-local",
        "host": "127.0.0.1",
        "port": free_port(),
        "grpc_port": free_port(),
        "models": [
            {
                "model": MODEL,
                "version": VERSION,
                "path": str(onnx),
                "sha256": hashlib.sha256(onnx.read_bytes()).hexdigest(),
                "weight": 100,
            }
        ],
        # retention for the whole run (what the records-logged check counts); the request
        # path does not depend on how many rotated files are kept
        "prediction_log": {"folder": str(work / "logs"), "backups": 200},
        "metrics_files": [],
    }


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(mlform: Path, config_path: Path, log: Path, url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(mlform), "serve", "--config", str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Precondition(f"the server exited while starting: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise Precondition(f"the server did not start in 60 s: {log.read_text()[-2000:]}")


def load(
    protocol: str,
    python: str,
    files: dict[str, Path],
    config: dict[str, Any],
    header_length: int,
    args: argparse.Namespace,
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    if protocol == "gRPC":
        argv = [
            str(HERE / "grpc_loadgen.py"),
            f"127.0.0.1:{config['grpc_port']}",
            str(files[protocol]),
        ]
    else:
        argv = [
            str(HERE / "loadgen.py"),
            f"http://127.0.0.1:{config['port']}/v2/models/{MODEL}/infer",
            str(files[protocol]),
        ]
        if protocol == "REST binary":
            argv += ["--content-type", "application/octet-stream"]
            argv += ["--header", f"Inference-Header-Content-Length:{header_length}"]
    argv += ["--concurrency", str(args.concurrency), "--seconds", str(seconds)]
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = cpu_of(pid)
    done = subprocess.run(
        [python, *argv], capture_output=True, text=True, check=False, timeout=seconds + 120
    )
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise Precondition(f"the {protocol} load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu"] = cpu_of(pid) - server0
    result["client_cpu"] = (children1.ru_utime + children1.ru_stime) - (
        children0.ru_utime + children0.ru_stime
    )
    return result


def metrics_by_protocol(url: str) -> tuple[Counter[tuple[str, str]], int]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    counts: Counter[tuple[str, str]] = Counter()
    dropped = 0
    for line in text.splitlines():
        if line.startswith("mlform_inference_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            protocol = labels.split('protocol="')[1].split('"')[0]
            status = labels.split('status="')[1].split('"')[0]
            counts[(protocol, status)] += int(float(value))
        elif line.startswith("mlform_prediction_log_dropped_total "):
            dropped = int(float(line.split()[1]))
    return counts, dropped


def logged_by_protocol(folder: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in sorted(folder.glob("predictions.jsonl*")):
        with path.open("rb") as handle:
            for line in handle:
                if b'"protocol":"grpc"' in line:
                    counts["grpc"] += 1
                elif b'"protocol":"v2"' in line:
                    counts["v2"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--mlform", default=None)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except Precondition as problem:
        print(f"precondition failed: {problem}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    quiet = wait_until_quiet(args.quiet_wait) if args.quiet_wait > 0 else "not checked"
    load_start = load_average()
    mlform = find_tool("mlform", args.mlform)
    dvc = find_tool("dvc", None)
    python = interpreter_of(mlform)
    work = (args.work / "protocols").resolve()
    work.mkdir(parents=True, exist_ok=True)
    project = work / "credit-risk"
    env = bench_pipeline.child_env(mlform.parent, args.work.resolve(), 0)
    full_ms = bench_pipeline.set_up(project, dvc, env)
    onnx = project / bench_pipeline.ONNX
    logs = work / "logs"
    for old in logs.glob("predictions.jsonl*"):
        old.unlink()
    config = server_config(work, onnx)
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    url = f"http://127.0.0.1:{config['port']}"
    target = f"127.0.0.1:{config['grpc_port']}"

    rows = complete_rows(project / "data" / "credit.csv", PARITY_ROWS)
    body, header_length = binary_body(rows[0])
    files = {p: work / f"request-{p.replace(' ', '-').lower()}.bin" for p in PROTOCOLS}
    files["REST JSON"].write_bytes(mlform_body(rows[0]))
    files["REST binary"].write_bytes(body)
    files["gRPC"].write_bytes(grpc_body(rows[0]))

    process = start(mlform, config_path, work / "server.log", url)
    try:
        for row in rows:
            answers = [answer_json(url, row), answer_binary(url, row), answer_grpc(target, row)]
            if not answers[0] == answers[1] == answers[2]:
                raise Precondition(f"the protocols answer {row} differently: {answers}")
        sent: Counter[str] = Counter({"v2": 2 * PARITY_ROWS, "grpc": PARITY_ROWS})
        results: dict[str, list[dict[str, Any]]] = {p: [] for p in PROTOCOLS}
        statuses: dict[str, Counter[str]] = {p: Counter() for p in PROTOCOLS}
        others = OtherLoad().start()
        for warm in PROTOCOLS:
            done = load(warm, python, files, config, header_length, args, args.warmup, process.pid)
            sent[LOG_PROTOCOL[warm]] += done["requests"]
            statuses[warm].update(done["statuses"])
        for round_number in range(args.rounds):
            order = PROTOCOLS[round_number % 3 :] + PROTOCOLS[: round_number % 3]
            for protocol in order:
                done = load(
                    protocol, python, files, config, header_length, args, args.seconds, process.pid
                )
                print(
                    f"round {round_number + 1} {protocol}: {done['throughput']:,.0f} req/s, "
                    f"p50 {done['p50_ms']:.2f} ms, p99 {done['p99_ms']:.2f} ms",
                    flush=True,
                )
                results[protocol].append(done)
                sent[LOG_PROTOCOL[protocol]] += done["requests"]
                statuses[protocol].update(done["statuses"])
                for error, count in done["errors"].items():
                    statuses[protocol][error] += count
        load_seen = others.describe()
        counted, dropped = metrics_by_protocol(url)
    finally:
        process.terminate()  # SIGTERM: graceful; the log writer flushes
        process.wait(timeout=60)
    logged = logged_by_protocol(logs)

    checks: list[tuple[str, bool, str]] = []
    for protocol in PROTOCOLS:
        good = {"200", "OK"}
        bad = {k: v for k, v in statuses[protocol].items() if k not in good}
        checks.append(
            (f"{protocol}: every request answered 200/OK", not bad, str(dict(statuses[protocol])))
        )
    for label in ("v2", "grpc"):
        ok = counted[(label, "200")] == sent[label] == logged[label]
        checks.append(
            (
                f"protocol {label}: sent = counted in /metrics = logged",
                ok and dropped == 0,
                f"{sent[label]:,} sent, {counted[(label, '200')]:,} counted, "
                f"{logged[label]:,} logged, {dropped} dropped",
            )
        )
    medians = {p: statistics.median(r["throughput"] for r in results[p]) for p in PROTOCOLS}
    for protocol, ratio in GOALS.items():
        got = medians[protocol] / medians["REST JSON"]
        checks.append(
            (f"{protocol} ≥ {ratio:g}× REST JSON throughput", got >= ratio, f"{got:.2f}×")
        )

    table = [("protocol", "req/s", "p50", "p99", "server CPU ms/req", "client CPU ms/req")]
    for protocol in PROTOCOLS:
        runs = results[protocol]
        requests = sum(r["requests"] for r in runs)
        table.append(
            (
                protocol,
                f"{medians[protocol]:,.0f}",
                f"{statistics.median(r['p50_ms'] for r in runs):.2f} ms",
                f"{statistics.median(r['p99_ms'] for r in runs):.2f} ms",
                f"{1000 * sum(r['server_cpu'] for r in runs) / requests:.3f}",
                f"{1000 * sum(r['client_cpu'] for r in runs) / requests:.3f}",
            )
        )
    print(text_table(table))
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    if args.write_results:
        write_section(
            SECTION,
            render(args, table, results, checks, full_ms, load_start, quiet, load_seen, began),
        )
        print(f"Wrote {SECTION!r} to {os.path.relpath(RESULTS, ROOT)}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def render(
    args: argparse.Namespace,
    table: list[tuple[str, ...]],
    results: dict[str, list[dict[str, Any]]],
    checks: list[tuple[str, bool, str]],
    full_ms: float,
    load_start: str,
    quiet: str,
    load_seen: str,
    began: float,
) -> str:
    host = machine(sys.executable)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    options = (
        f"--seconds {args.seconds:g} --warmup {args.warmup:g} --rounds {args.rounds} "
        f"--concurrency {args.concurrency}"
    )
    header, *body = table
    out = [
        SECTION,
        "",
        f"Measured {now} at commit {git_revision()} with "
        f"`python benchmarks/bench_protocols.py {options} --write-results` "
        f"(whole run: {time.perf_counter() - began:.0f} s).",
        "",
        f"- Machine: {host['cpu']}; {host['cores']}; {host['ram']}; {host['os']}",
        f"- Python: {host['python']}; "
        + versions(sys.executable, ("grpcio", "protobuf", "uvicorn", "onnxruntime")),
        f"- Load average at the start: {load_start} (before starting: {quiet}); CPU time other "
        f"processes used during the runs: {load_seen}",
        "",
        f"**Set-up** (untimed): `examples/credit-risk` copied to `benchmarks/.work/protocols/`, "
        f"`dvc repro` ({full_ms / 1000:.1f} s). One `mlform serve` with the config `mlform apply` "
        "writes for a Deployment with `local.grpc_port`: the exported ONNX model, the prediction "
        "log on, default limits. One row per request, both outputs; "
        f"{args.concurrency} concurrent workers on the same 2 cores as the server; the order of "
        "the protocols rotates every round.",
        "",
        "| " + " | ".join(header) + " | what the row measures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in body:
        out.append("| " + " | ".join(row) + f" | {WHAT[row[0]]} |")
    out += ["", "Throughput per round:", ""]
    for protocol, runs in results.items():
        out.append(f"- {protocol}: " + ", ".join(f"{r['throughput']:,.0f}" for r in runs))
    out += ["", "| requirement | measured | result |", "| --- | --- | --- |"]
    out += [f"| {name} | {detail} | {'PASS' if ok else 'FAIL'} |" for name, ok, detail in checks]
    out += [
        "",
        "**Notes**",
        "",
        "- Client CPU is the load generator's (a separate process): loadgen.py writes prebuilt "
        "HTTP/1.1 bytes on asyncio; grpc_loadgen.py sends prebuilt protobuf bytes through "
        "grpc.aio on one channel. gRPC's Python client costs more CPU per request, and on 2 "
        "cores that CPU is taken from the server, so the gRPC row understates what a client "
        "on another machine would get.",
        "- On a machine other processes load (the CPU time they used is above), throughput moves by a third between rounds; the server's CPU milliseconds per request move less and compare what each protocol costs the server: binary tensor data about what JSON costs at one row (its gain is in large tensors, not measured here), gRPC more (grpc.aio's per-call work in Python, on top of the same checks, inference and log).",
        "- No gRPC peer runs here: MLServer's gRPC server serving the same ONNX model needs the "
        "custom ONNX runtime being built in benchmarks/mlserver_onnx_runtime.py (another "
        "change); this benchmark does not duplicate it.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
