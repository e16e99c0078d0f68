"""Prometheus metrics of the server, in the text exposition format.

| metric | type | labels |
| --- | --- | --- |
| `mlform_inference_requests_total` | counter | model, version, protocol, status |
| `mlform_inference_request_duration_seconds` | histogram | model, version, protocol |
| `mlform_inference_rows_total` | counter | model, version |
| `mlform_inference_requests_in_flight` | gauge | |
| `mlform_model_info` | gauge (1) | model, version, sha256, deployment |
| `mlform_prediction_log_dropped_total` | counter | |
| `mlform_http_rejected_total` | counter | reason |

Requests that fail before a model is chosen carry model="" and version="".
"""

from __future__ import annotations

import bisect
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    def escape(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True))


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.rows: dict[tuple[str, str], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str, str], list[int]] = {}
        self.sums: dict[tuple[str, str, str], float] = defaultdict(float)
        self.in_flight = 0
        self.dropped = 0
        self.models: list[tuple[str, str, str, str]] = []
        # connections and requests refused before the app saw them (or their body)
        self.rejected: dict[str, int] = defaultdict(int)

    def observe(
        self, model: str, version: str, protocol: str, status: int, seconds: float, rows: int
    ) -> None:
        self.requests[(model, version, protocol, str(status))] += 1
        if rows:
            self.rows[(model, version)] += rows
        key = (model, version, protocol)
        counts = self.buckets.get(key)
        if counts is None:
            counts = self.buckets[key] = [0] * (len(BUCKETS) + 1)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[key] += seconds

    def render(self) -> str:
        out = [
            "# HELP mlform_inference_requests_total Inference requests by model, version, protocol and HTTP status.",
            "# TYPE mlform_inference_requests_total counter",
        ]
        names = ("model", "version", "protocol", "status")
        out += [
            f"mlform_inference_requests_total{{{_labels(names, k)}}} {v}"
            for k, v in sorted(self.requests.items())
        ]
        out += [
            "# HELP mlform_inference_request_duration_seconds Time from request to response.",
            "# TYPE mlform_inference_request_duration_seconds histogram",
        ]
        for key, counts in sorted(self.buckets.items()):
            labels = _labels(("model", "version", "protocol"), key)
            total = 0
            for bound, count in zip(BUCKETS, counts, strict=False):
                total += count
                out.append(
                    f'mlform_inference_request_duration_seconds_bucket{{{labels},le="{bound}"}} {total}'
                )
            total += counts[-1]
            out.append(
                f'mlform_inference_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}'
            )
            out.append(
                f"mlform_inference_request_duration_seconds_sum{{{labels}}} {self.sums[key]}"
            )
            out.append(f"mlform_inference_request_duration_seconds_count{{{labels}}} {total}")
        out += [
            "# HELP mlform_inference_rows_total Rows predicted.",
            "# TYPE mlform_inference_rows_total counter",
        ]
        out += [
            f"mlform_inference_rows_total{{{_labels(('model', 'version'), k)}}} {v}"
            for k, v in sorted(self.rows.items())
        ]
        out += [
            "# HELP mlform_inference_requests_in_flight Requests being served now.",
            "# TYPE mlform_inference_requests_in_flight gauge",
            f"mlform_inference_requests_in_flight {self.in_flight}",
            "# HELP mlform_model_info Loaded model versions (value 1).",
            "# TYPE mlform_model_info gauge",
        ]
        names = ("model", "version", "sha256", "deployment")
        out += [f"mlform_model_info{{{_labels(names, m)}}} 1" for m in self.models]
        out += [
            "# HELP mlform_prediction_log_dropped_total Prediction log records dropped because the writer fell behind.",
            "# TYPE mlform_prediction_log_dropped_total counter",
            f"mlform_prediction_log_dropped_total {self.dropped}",
            "# HELP mlform_http_rejected_total Connections closed for invalid HTTP, slow headers or bodies, or over the connection limit.",
            "# TYPE mlform_http_rejected_total counter",
        ]
        out += [
            f"mlform_http_rejected_total{{{_labels(('reason',), (k,))}}} {v}"
            for k, v in sorted(self.rejected.items())
        ]
        return "\n".join(out) + "\n"
