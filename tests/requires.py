"""Tests that need a program from a Debian package skip without it on a developer's machine
(with the reason) and fail in CI, where `.ci/run` installs it: a missing package in CI is a
broken CI, not a pass."""

from __future__ import annotations

import os
import shutil

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
