"""A small gRPC load generator: ``concurrency`` workers on one grpc.aio channel (HTTP/2
streams multiplexed on one connection, as gRPC clients do), each sending the same
serialized ModelInferRequest back to back, bounded by time and count; reports throughput,
latency percentiles, status codes and errors as JSON, in the format of loadgen.py.

    python benchmarks/grpc_loadgen.py HOST:PORT REQUEST.bin --concurrency 8 --seconds 10

REQUEST.bin is a serialized ``inference.ModelInferRequest``. The request is sent as bytes
and the response read as bytes (no protobuf work in the client's loop, as loadgen.py sends
prebuilt HTTP bytes); the model version is read from one response in 64 ("versions"
counts those samples). Plain asyncio, as loadgen.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

METHOD = "/inference.GRPCInferenceService/ModelInfer"


def _version(response: bytes) -> str:
    """The model_version of a serialized ModelInferResponse."""
    from mlform.serving.oip import inference_pb2

    return str(inference_pb2.ModelInferResponse.FromString(response).model_version)


async def worker(
    call: Any,
    request: bytes,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    statuses: Counter[str],
    errors: Counter[str],
    versions: Counter[str],
) -> None:
    import grpc

    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        started = time.perf_counter()
        try:
            response = await call(request, timeout=30)
        except grpc.aio.AioRpcError as error:
            statuses[error.code().name] += 1
            continue
        except Exception as error:  # every failure counts
            errors[type(error).__name__] += 1
            continue
        latencies.append(time.perf_counter() - started)
        statuses["OK"] += 1
        if len(latencies) % 64 == 1:
            versions[_version(response)] += 1


async def run(
    target: str, request: bytes, concurrency: int, seconds: float, max_requests: int
) -> dict[str, object]:
    import grpc

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    budget = [max_requests]
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD)  # bytes in, bytes out
        await channel.channel_ready()
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(
                worker(call, request, deadline, budget, latencies, statuses, errors, versions)
                for _ in range(concurrency)
            )
        )
        elapsed = time.monotonic() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "throughput": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(pct(0.50), 3),
        "p90_ms": round(pct(0.90), 3),
        "p99_ms": round(pct(0.99), 3),
        "statuses": dict(sorted(statuses.items())),
        "errors": dict(errors),
        "versions": dict(versions),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("target", help="HOST:PORT")
    parser.add_argument("request", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=10_000_000)
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.target,
            args.request.read_bytes(),
            args.concurrency,
            args.seconds,
            args.max_requests,
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
