"""Tests that need a program from a Debian package skip without it on a developer's machine
(with the reason) and fail in CI, where `.ci/run` installs it: a missing package in CI is a
broken CI, not a pass."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def program(name: str, package: str) -> str:
    """The path of ``name``; skip (fail under ``CI``) when it is not installed."""
    found = shutil.which(name)
    if found is not None:
        return found
    missing(f"{name} is not installed (Debian package `{package}`)")
    raise AssertionError("unreachable")


def missing(reason: str) -> None:
    """Skip with ``reason``, or fail with it under ``CI``."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)


def npm_package(spec: str, why: str) -> Path:
    """A folder holding the npm package ``spec`` (``name@version``), installed once into
    ~/.cache/mlform-tests; skips (or, under CI, fails) without node and npm, or when npm
    cannot install it. ``why``: what runs on node, for the reason."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing(f"node and npm are not installed ({why} runs on them)")
    assert npm is not None
    folder = Path.home() / ".cache" / "mlform-tests" / spec.replace("@", "-")
    if not (folder / "node_modules" / spec.rsplit("@", 1)[0]).is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        args = ["install", "--silent", "--no-audit", "--no-fund", "--prefix", str(folder), spec]
        done = subprocess.run(
            [npm, *args], capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            missing(f"npm could not install {spec}: {done.stderr.strip()[-500:]}")
    return folder
