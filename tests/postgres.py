"""A PostgreSQL server of the tests' own (Debian's `postgresql`: initdb and pg_ctl on a unix
socket in a temporary folder): fail in CI when it is missing, skip elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import requires

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of the tests' own, reached on a unix socket: its DSN."""
    if not PG_BIN or not (PG_BIN[-1] / "initdb").is_file():
        requires.missing("PostgreSQL is not installed (Debian package `postgresql`)")
    bin_dir = PG_BIN[-1]
    # Outside pytest's folder (readable by its owner only), so the server's user can reach it.
    base = Path(tempfile.mkdtemp(prefix="mlform-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root; Debian's package brings the user
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "mlform"],
        check=True,
        capture_output=True,
    )
    options = f"-k {base} -c listen_addresses='' -c max_connections=50"
    subprocess.run(
        [
            *as_postgres,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql:///postgres?host={base}&user=mlform"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)
