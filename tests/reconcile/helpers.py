"""Projects the reconciler applies for real: git, DVC, the pipeline, the registry, servers."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from tests.pipeline_helpers import BIN, Done, env, git, sh
from tests.serving.conftest import free_port


def mlform(
    *args: str, cwd: Path, check: bool = True, extra_env: dict[str, str] | None = None
) -> Done:
    if extra_env is None:
        return sh(BIN / "mlform", *args, cwd=cwd, check=check)
    done = subprocess.run(
        [str(BIN / "mlform"), *args],
        cwd=cwd,
        env={**env(), **extra_env},
        capture_output=True,
        text=True,
        check=False,
    )
    result = Done(done.returncode, done.stdout + done.stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"mlform {' '.join(args)} exited {done.returncode}:\n{result.out}")
    return result


def diabetes_project(dest: Path) -> tuple[Path, int]:
    """The diabetes example as a fresh git + DVC repository, on a free port, committed."""
    mlform("init", str(dest), "--example", "diabetes-regression", cwd=dest.parent)
    port = free_port()
    spec = dest / "ml" / "diabetes.yaml"
    spec.write_text(spec.read_text().replace("local: {port: 8091}", f"local: {{port: {port}}}"))
    git("add", "-A", cwd=dest)
    git("commit", "-qm", "specs", cwd=dest)
    return dest, port


def predict(port: int, rows: int = 1) -> dict[str, Any]:
    row = {
        "age": 50.0,
        "sex": "m",
        "bmi": 25.0,
        "bp": 90.0,
        "tc": 190.0,
        "ldl": 110.0,
        "hdl": 50.0,
        "tch": 4.0,
        "ltg": 4.6,
        "glu": 90.0,
    }
    inputs = [
        {
            "name": k,
            "shape": [rows, 1],
            "datatype": "BYTES" if isinstance(v, str) else "FP64",
            "data": [v] * rows,
        }
        for k, v in row.items()
    ]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/models/diabetes-progression/infer",
        data=json.dumps({"inputs": inputs}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def state(root: Path, environment: str = "default") -> dict[str, Any]:
    """The environment's state, from whatever backend the project's resolves to."""
    pulled = mlform("state", "pull", "--env", environment, cwd=root)
    data: dict[str, Any] = json.loads(pulled.out)
    return data


def stop_servers(root: Path) -> None:
    for record in (root / ".mlform" / "serve").glob("*/server.json"):
        mlform("server", "stop", record.parent.name, cwd=root, check=False)
