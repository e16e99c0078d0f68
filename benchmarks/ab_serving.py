"""Old and new server code side by side: the same ONNX model, the same config as `apply`
writes it (prediction log on, default limits), the same load, alternating rounds.

    git worktree add /tmp/old-mlform 6c784bd
    python benchmarks/ab_serving.py --config PROJECT/.mlform/serve/DEPLOYMENT/config.json \
        --old /tmp/old-mlform/src --new src --rounds 3 --seconds 15

Each round starts each server (``python -m mlform serve --config``, with ``PYTHONPATH`` set to
that code's ``src``) on a free port of 127.0.0.1 with a prediction log of its own, warms it up,
runs ``loadgen.py`` against it, and stops it; the order flips every round. The server's CPU
time per request (user + system, /proc/PID/stat, over the timed run) is what to compare on
a shared machine: throughput moves with the other processes, CPU per request much less. Fields of the
config the old code does not know (limits added since) are left out of its copy, so each
server runs its own defaults for them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROW = {
    "age": 23.0,
    "income": 33286.24,
    "employment_years": 1.8,
    "housing": "own",
    "purpose": "education",
    "credit_history": "good",
    "loan_amount": 2875.36,
    "loan_term_months": 36.0,
}


def body() -> bytes:
    inputs = [
        {
            "name": k,
            "shape": [1, 1],
            "datatype": "BYTES" if isinstance(v, str) else "FP64",
            "data": [v],
        }
        for k, v in ROW.items()
    ]
    return json.dumps({"inputs": inputs}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def known_limits(src: Path) -> set[str]:
    code = (
        "import dataclasses; from mlform.serving.config import Limits; "
        "print(' '.join(f.name for f in dataclasses.fields(Limits)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def serve(src: Path, config: dict[str, Any], folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    mine = {**config, "port": port}
    allowed = known_limits(src)
    mine["limits"] = {k: v for k, v in config["limits"].items() if k in allowed}
    mine["prediction_log"] = {**config["prediction_log"], "folder": str(folder / "logs")}
    mine["metrics_files"] = []
    path = folder / "config.json"
    path.write_text(json.dumps(mine))
    process = subprocess.Popen(
        [sys.executable, "-m", "mlform", "serve", "--config", str(path)],
        env={**os.environ, "PYTHONPATH": str(src)},
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server of {src} did not start: {(folder / 'server.log').read_text()}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, seconds: float, concurrency: int, payload: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            str(HERE / "loadgen.py"),
            f"{url}/v2/models/credit-risk/infer",
            str(payload),
            "--concurrency",
            str(concurrency),
            "--seconds",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--old", type=Path, required=True, help="the old code's src folder")
    parser.add_argument("--new", type=Path, required=True, help="the new code's src folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="mlform-ab-") as temp:
        payload = Path(temp) / "body.json"
        payload.write_bytes(body())
        for round_ in range(args.rounds):
            order = ["old", "new"] if round_ % 2 == 0 else ["new", "old"]
            for name in order:
                src = (args.old if name == "old" else args.new).resolve()
                folder = Path(temp) / f"{name}-{round_}"
                folder.mkdir()
                process, url = serve(src, config, folder)
                try:
                    load(url, args.warmup, args.concurrency, payload)
                    before = cpu_seconds(process.pid)
                    result = load(url, args.seconds, args.concurrency, payload)
                    used = cpu_seconds(process.pid) - before
                    result["server_cpu_us"] = 1e6 * used / max(1, sum(result["statuses"].values()))
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
                logged = sum(1 for f in (folder / "logs").glob("predictions*") for _ in f.open())
                result["logged"] = logged
                runs[name].append(result)
                print(name, json.dumps(result), file=sys.stderr)
    print(
        "| code | req/s | p50 | p99 | server CPU / req | statuses | predictions logged (warm-ups too) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for name in ("old", "new"):
        rows = runs[name]
        statuses: dict[str, int] = {}
        for row in rows:
            for code, count in row["statuses"].items():
                statuses[code] = statuses.get(code, 0) + count
        print(
            f"| {name} | {statistics.median(r['throughput'] for r in rows):,.0f}"
            f" | {statistics.median(r['p50_ms'] for r in rows):.2f} ms"
            f" | {statistics.median(r['p99_ms'] for r in rows):.2f} ms"
            f" | {statistics.median(r['server_cpu_us'] for r in rows):.0f} µs"
            f" | {statuses} | {sum(r['logged'] for r in rows):,} |"
        )
    for name in ("old", "new"):
        each = ", ".join(
            f"{r['throughput']:,.0f} ({r['server_cpu_us']:.0f} µs)" for r in runs[name]
        )
        print(f"\n{name}: req/s (server CPU / req) per round {each}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
