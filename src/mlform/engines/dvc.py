"""DVC, as mlform uses it: reproduce stages, ask what is stale, track data files, check
outputs out, experiments; and the one reader of ``dvc.lock``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.engines import process


@dataclass(frozen=True)
class Failure:
    """A stage that failed, and what it printed (its located diagnostics when it has any)."""

    stage: str
    message: str


@dataclass(frozen=True)
class LockedFile:
    path: str
    md5: str | None


@dataclass(frozen=True)
class LockedStage:
    deps: tuple[LockedFile, ...] = ()
    outs: tuple[LockedFile, ...] = ()

    def dep(self, path: str) -> LockedFile | None:
        return next((d for d in self.deps if d.path == path), None)

    def out(self, path: str) -> LockedFile | None:
        return next((o for o in self.outs if o.path == path), None)


@dataclass(frozen=True)
class Lock:
    """``dvc.lock``: what each stage last ran with (empty when there is none)."""

    stages: dict[str, LockedStage] = field(default_factory=dict)

    def stage(self, name: str) -> LockedStage:
        return self.stages.get(name) or LockedStage()


def read_lock(root: Path) -> Lock:
    """The project's ``dvc.lock``; an absent or unreadable file reads as no stage run yet."""
    from mlform.loader import parse

    path = root / "dvc.lock"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Lock()
    documents, problems = parse(text, "dvc.lock")
    data = documents[0].data if documents and not problems else None
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return Lock()
    return Lock({str(name): _stage(body) for name, body in stages.items()})


def _stage(body: Any) -> LockedStage:
    if not isinstance(body, dict):
        return LockedStage()
    return LockedStage(_files(body.get("deps")), _files(body.get("outs")))


def _files(items: Any) -> tuple[LockedFile, ...]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            md5 = item.get("md5")
            out.append(LockedFile(item["path"], str(md5) if md5 else None))
    return tuple(out)


class Dvc:
    """dvc in the project at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(
        self,
        *args: str,
        check: bool = True,
        capture: bool = True,
        env: dict[str, str] | None = None,
    ) -> process.Done:
        return process.run("dvc", args, cwd=self.root, env=env, check=check, capture=capture)

    def repro(self, stage: str, env: dict[str, str] | None = None) -> Failure | None:
        """`dvc repro STAGE`: None on success, else the stage that failed and why."""
        done = process.run("dvc", ["repro", stage], cwd=self.root, env=env, check=False)
        if done.ok:
            return None
        output = done.stdout + done.stderr
        failed = stage
        for line in output.splitlines():
            if line.startswith("ERROR: failed to reproduce '"):
                failed = line.split("'")[1]
        located = [line for line in output.splitlines() if ": error E" in line]
        lines = output.strip().splitlines() or ["dvc repro failed"]
        return Failure(failed, "; ".join(located) or lines[-1])

    def stale(self, stage: str) -> list[str]:
        """Stages up to ``stage`` that are not up to date (`dvc status --with-deps`)."""
        done = self.run("status", "--json", stage, "--with-deps")
        status = json.loads(done.stdout or "{}")
        return sorted(name.split(":")[-1] for name in status)

    def add(self, path: str) -> None:
        self.run("add", path)

    def checkout(self) -> None:
        """Outputs as dvc.lock says; a failure is left for the next `dvc repro` to mend."""
        self.run("checkout", "--quiet", check=False)

    def init(self, subdir: bool) -> None:
        self.run("init", *(["--subdir"] if subdir else []))

    def json(self, *args: str) -> Any:
        """A dvc command that prints JSON (`exp show --json`, `metrics diff --json`)."""
        done = self.run(*args)
        return json.loads(done.stdout or "null")
