"""What a server serves: written by mlform as JSON, read by the server at start and on reload."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServedVersion:
    model: str
    version: str  # "v0.1.0"
    path: str  # the ONNX file
    sha256: str = ""
    weight: int = 100  # share of unversioned traffic to this model name, in percent


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 10_000
    timeout_seconds: float = 10.0
    # slow clients: a request's headers (from the connection's or the request's first byte),
    # then its body, must arrive within these; connections over the limit get a 503
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 1000
    # a request's line and headers, in bytes, and its number of headers: over either, a 431
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100


@dataclass(frozen=True)
class PredictionLog:
    folder: str = ""  # empty: no logging
    sample_rate: float = 1.0  # share of requests logged, decided by request id
    max_bytes: int = 16 * 1024 * 1024  # per file
    backups: int = 10  # rotated files kept (sized by compile to the longest Monitor window)
    # rows waiting for the writer thread at most; past that, rows are dropped and counted
    buffer_rows: int = 65_536


@dataclass(frozen=True)
class ServeConfig:
    deployment: str
    host: str = "127.0.0.1"
    port: int = 8080
    models: tuple[ServedVersion, ...] = ()
    limits: Limits = field(default_factory=Limits)
    prediction_log: PredictionLog = field(default_factory=PredictionLog)
    # Monitors' exported scores (`mlform monitor run`), appended to /metrics as they are.
    metrics_files: tuple[str, ...] = ()
    # The Open Inference Protocol's gRPC API on this port too (same host); None: none.
    grpc_port: int | None = None

    def to_json(self) -> str:
        data = asdict(self)
        if data["grpc_port"] is None:  # configs without gRPC keep the digest they had
            del data["grpc_port"]
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServeConfig:
        return cls(
            deployment=data["deployment"],
            host=data.get("host", "127.0.0.1"),
            port=int(data.get("port", 8080)),
            models=tuple(ServedVersion(**m) for m in data.get("models", [])),
            limits=Limits(**data.get("limits", {})),
            prediction_log=PredictionLog(**data.get("prediction_log", {})),
            metrics_files=tuple(data.get("metrics_files", ())),
            grpc_port=None if data.get("grpc_port") is None else int(data["grpc_port"]),
        )

    @classmethod
    def load(cls, path: Path) -> ServeConfig:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
