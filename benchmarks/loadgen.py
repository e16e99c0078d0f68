"""A small HTTP/1.1 load generator: keep-alive connections on asyncio, bounded by time and
count, reporting throughput, latency percentiles, status codes and errors as JSON.

    python benchmarks/loadgen.py URL BODY.json --concurrency 8 --seconds 60 [--max-requests N]
        [--content-type TYPE] [--header NAME:VALUE ...]

Used by the serving load test (tests/serving/test_load.py) and by the MLServer benchmark, so
both servers face the same client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit


async def worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    statuses: Counter[int],
    errors: Counter[str],
    versions: Counter[str],
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            marker = body.find(b'"model_version":"')
            if marker >= 0:
                end = body.find(b'"', marker + 17)
                versions[body[marker + 17 : end].decode()] += 1
            if close:
                writer.close()
                writer = None
        except Exception as error:  # every failure counts, and the connection restarts
            errors[type(error).__name__] += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def run(
    url: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    max_requests: int,
    content_type: str = "application/json",
    headers: tuple[str, ...] = (),
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{h.partition(':')[0]}: {h.partition(':')[2].strip()}\r\n" for h in headers)
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    budget = [max_requests]
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(
            worker(host, port, request, deadline, budget, latencies, statuses, errors, versions)
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
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "versions": dict(versions),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("url")
    parser.add_argument("body", type=Path)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=10_000_000)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--header", action="append", default=[], help="NAME:VALUE, repeatable")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            args.body.read_bytes(),
            args.concurrency,
            args.seconds,
            args.max_requests,
            args.content_type,
            tuple(args.header),
        )
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
