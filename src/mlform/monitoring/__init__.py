"""Monitoring: drift and performance of served models, Prometheus rules, retraining."""

from pathlib import Path


def monitor_dir(root: Path, name: str) -> Path:
    """Where a Monitor's runs write: result.json, report.html, metrics.prom, history.jsonl."""
    return root / ".mlform" / "monitor" / name
