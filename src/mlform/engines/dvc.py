"""DVC, as mlform uses it: reproduce stages, ask what is stale, track data files, check
outputs out, experiments; and the one reader of ``dvc.lock``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.engines import process
from mlform.engines.git import Git
from mlform.errors import UserError


@dataclass(frozen=True)
class Failure:
    """A stage that failed, and what it printed (its located diagnostics when it has any)."""

    stage: str
    message: str


@dataclass(frozen=True)
class Reproduced:
    """What a `dvc repro` did: the stages it ran, those it restored from the run-cache
    (another runner's outputs, checked out instead of computed), and its failure if any."""

    ran: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    failure: Failure | None = None

    def summary(self) -> str:
        """Like "ran 1 stage (a); restored 2 stages from the run-cache (b, c)"; "" for none."""
        parts = []
        for verb, names in (("ran", self.ran), ("restored", self.restored)):
            if names:
                noun = "stage" if len(names) == 1 else "stages"
                where = " from the run-cache" if verb == "restored" else ""
                parts.append(f"{verb} {len(names)} {noun}{where} ({', '.join(names)})")
        return "; ".join(parts)


def _stages_in(output: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The stages DVC says it ran ("Running stage 'x':") and restored ("Stage 'x' is cached
    - skipping run, checking out outputs"), in its order, as their names."""
    ran: list[str] = []
    restored: list[str] = []
    for line in output.splitlines():
        if line.startswith("Running stage '"):
            ran.append(line.split("'")[1].rpartition(":")[2])
        elif line.startswith("Stage '") and "is cached - skipping run" in line:
            restored.append(line.split("'")[1].rpartition(":")[2])
    return tuple(ran), tuple(restored)


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


STASH = Path(".mlform") / "dvc.lock"


def _stash(root: Path, folder: str) -> Path:
    """Where the dvc.lock of the pipeline in ``folder`` waits between dvc commands."""
    return root / STASH if folder in ("", ".") else root / ".mlform" / folder / "dvc.lock"


def lock_file(root: Path, folder: str = ".") -> Path:
    """Where the dvc.lock of the pipeline in ``folder`` (the default's: ``.``; an
    environment's: ``pipelines/<env>``) is now: beside its dvc.yaml, or stashed."""
    here = root / folder / "dvc.lock"
    stash = _stash(root, folder)
    return here if here.exists() or not stash.exists() else stash


def read_lock(root: Path, folder: str = ".") -> Lock:
    """A pipeline's ``dvc.lock``; an absent or unreadable file reads as no stage run yet."""
    try:
        text = lock_file(root, folder).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return Lock()
    return parse_lock(text)


def parse_lock(text: str) -> Lock:
    """A ``dvc.lock``'s text (from the work tree, or from a commit)."""
    from mlform.loader import parse

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
    """dvc in the project at ``root``.

    Where the branch does not track ``dvc.lock`` (a project made by `mlform init`), it is
    this checkout's record, not the team's: between dvc commands it is kept in
    ``.mlform/dvc.lock``, so the work tree stays clean (DVC refuses a git-ignored lock file).
    Each registered version's tag is a commit that holds the lock it was made with.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._pushed: set[str] = set()

    def _pipelines(self) -> list[str]:
        folders = ["."]
        pipelines = self.root / "pipelines"
        if pipelines.is_dir():
            folders += sorted(
                f"pipelines/{p.name}" for p in pipelines.iterdir() if (p / "dvc.yaml").is_file()
            )
        return folders

    @contextmanager
    def _lock_in_place(self) -> Iterator[None]:
        pairs = [(self.root / f / "dvc.lock", _stash(self.root, f), f) for f in self._pipelines()]
        for here, stash, _ in pairs:
            if not here.exists() and stash.exists():
                os.replace(stash, here)
        try:
            yield
        finally:
            git = Git(self.root)
            for here, stash, folder in pairs:
                if here.exists() and not git.tracked(f"{folder}/dvc.lock".removeprefix("./")):
                    stash.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(here, stash)

    def run(
        self,
        *args: str,
        check: bool = True,
        capture: bool = True,
        env: dict[str, str] | None = None,
    ) -> process.Done:
        with self._lock_in_place():
            return process.run("dvc", args, cwd=self.root, env=env, check=check, capture=capture)

    def repro(
        self, stage: str, env: dict[str, str] | None = None, pull: bool = False
    ) -> Reproduced:
        """`dvc repro STAGE` (``pull``: fetch missing outputs and run-cache entries from the
        remote first): which stages ran and which came from the run-cache, or the stage
        that failed and why."""
        args = ["repro", *(["--pull"] if pull else []), stage]
        with self._lock_in_place():
            done = process.run("dvc", args, cwd=self.root, env=env, check=False)
        output = done.stdout + done.stderr
        ran, restored = _stages_in(output)
        if done.ok:
            return Reproduced(ran, restored)
        failed = stage
        for line in output.splitlines():
            if line.startswith("ERROR: failed to reproduce '"):
                failed = line.split("'")[1]
        located = [line for line in output.splitlines() if ": error E" in line]
        lines = output.strip().splitlines() or ["dvc repro failed"]
        return Reproduced(ran, restored, Failure(failed, "; ".join(located) or lines[-1]))

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

    def use_remote(self, name: str, url: str) -> None:
        """Make ``url`` this checkout's default remote (``.dvc/config.local``, untracked:
        credentials stay in DVC's own config or the environment)."""
        self.run("remote", "add", "--local", "--default", "--force", name, url)

    def push(self, stage: str) -> None:
        """The stage's and its upstream's outputs, and the run-cache, to the remote; with
        them the ``cache: false`` outputs the run-cache entries name, which `dvc push`
        leaves out (it pushes what the work tree's index tracks): without them another
        runner's `dvc repro --pull` finds the entry incomplete and runs the stage again."""
        self.run("push", "--run-cache", "--with-deps", stage)
        path, _, _ = stage.rpartition(":")
        folder = str(Path(path).parent) if path else "."
        self._push_objects(
            {
                out.md5
                for locked in read_lock(self.root, folder).stages.values()
                for out in locked.outs
                if out.md5 and not out.md5.endswith(".dir")
            }
            - self._pushed
        )

    def _push_objects(self, md5s: set[str]) -> None:
        """Objects of the local cache the default remote lacks, pushed (DVC's transfer)."""
        if not md5s:
            return
        from dvc.exceptions import DvcException
        from dvc.repo import Repo
        from dvc_data.hashfile.hash_info import HashInfo

        try:
            with Repo(str(self.root)) as repo:
                local = repo.cache.local
                present = sorted(m for m in md5s if local.exists(m))
                repo.cloud.push([HashInfo("md5", m) for m in present])
        except DvcException as error:
            raise UserError(f"dvc push of the run-cache's outputs failed: {error}") from None
        self._pushed |= md5s

    def json(self, *args: str) -> Any:
        """A dvc command that prints JSON (`exp show --json`, `metrics diff --json`)."""
        done = self.run(*args)
        return json.loads(done.stdout or "null")


class RemoteStore:
    """The DVC remote as a file store (DVC's own client: its config and credentials), for
    what DVC does not move by itself: a registered version's files fetched by content
    address, and a model put where KServe's storage initializer reads it."""

    def __init__(self, root: Path, name: str | None = None) -> None:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        try:
            self.repo = Repo(str(root))
            self.remote = self.repo.cloud.get_remote(name)
        except DvcException as error:
            raise UserError(f"the DVC remote is not usable: {error}") from None
        self.fs = self.remote.fs

    def _path(self, relative: str) -> str:
        return str(self.fs.join(self.remote.path, *relative.split("/")))

    def get(self, md5: str, destination: Path) -> None:
        """The object of content ``md5`` (DVC 3's layout: files/md5/ab/cdef…)."""
        source = self._path(f"files/md5/{md5[:2]}/{md5[2:]}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        try:
            self.fs.get_file(source, str(partial))
        except (OSError, FileNotFoundError) as error:
            raise UserError(f"the DVC remote has no object {md5} ({error})") from None
        os.replace(partial, destination)

    def put(self, source: Path, relative: str) -> None:
        target = self._path(relative)
        self.fs.makedirs(self.fs.dirname(target), exist_ok=True)
        self.fs.put_file(str(source), target)

    def exists(self, relative: str) -> bool:
        return bool(self.fs.exists(self._path(relative)))

    def close(self) -> None:
        self.repo.close()
