"""The challenger's workspace: a git worktree of HEAD outside the project, with the
workspace's uncommitted changes, its data and ``dvc.lock``, sharing DVC's cache and the
local model store. The retrain runs there, so the user's workspace is never touched by a
rejected or proposed retrain, nor by one killed half way; only an accepted ``auto`` retrain
carries its data, ``dvc.lock`` and outputs back (``carry_back``).

A scratch left by a killed run is named in ``.mlform/retrain/<policy>/scratch`` and removed
by the next run."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlform.engines.dvc import Dvc, lock_file, read_lock
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.layout import retrain_dir
from mlform.retraining.backup import Backup

PREFIX = "mlform-retrain-"
RECORD = "scratch"
NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")  # no post-checkout hook (dvc's, pre-commit's)


def _top(root: Path) -> Path:
    top = Git(root).toplevel()
    if top is None:
        raise UserError("retraining runs in a git worktree, so the project must be in git")
    return top.resolve()


def remove(root: Path, top: Path) -> None:
    """The worktree at ``top`` gone, and git's record of it."""
    git = Git(root)
    git.ok(*NO_HOOKS, "worktree", "remove", "--force", str(top))
    if top.name.startswith(PREFIX) and top.parent == Path(tempfile.gettempdir()).resolve():
        shutil.rmtree(top, ignore_errors=True)
    git.ok("worktree", "prune")


def clean_stale(root: Path, policy: str) -> None:
    """Remove the scratch a killed run left behind."""
    record = retrain_dir(root, policy) / RECORD
    if record.is_file():
        remove(root, Path(record.read_text(encoding="utf-8").strip()))
        record.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch(root: Path, policy: str, source: Path, marker: Path | None) -> Iterator[Path]:
    """The project's root in a fresh scratch worktree, removed on the way out."""
    root = root.resolve()
    clean_stale(root, policy)
    top_here = _top(root)
    relative = root.relative_to(top_here)
    top = Path(tempfile.mkdtemp(prefix=PREFIX)).resolve()
    record = retrain_dir(root, policy) / RECORD
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(str(top) + "\n", encoding="utf-8")
    try:
        Git(root).run(*NO_HOOKS, "worktree", "add", "--quiet", "--detach", str(top), "HEAD")
        work = top / relative
        _overlay(top_here, top)
        _share(root, work)
        lock = lock_file(root)
        if lock.is_file():
            _copy(lock, work / lock.relative_to(root))
        Dvc(work).checkout()  # the champion's outputs (and any DVC-tracked input)
        for path in (source, marker):
            if path is not None and path.is_file():
                _copy(path, work / path.relative_to(root))
        yield work
    finally:
        remove(root, top)
        record.unlink(missing_ok=True)


def _overlay(here: Path, there: Path) -> None:
    """The workspace's uncommitted changes (modified, deleted, untracked, not ignored)."""
    git = Git(here)
    changed = git.run("ls-files", "-z", "--modified", "--others", "--exclude-standard")
    deleted = set(git.run("ls-files", "-z", "--deleted").split("\0")) - {""}
    for name in changed.split("\0"):
        if name and name not in deleted and (here / name).is_file():
            _copy(here / name, there / name)
    for name in deleted:
        (there / name).unlink(missing_ok=True)


def _share(root: Path, work: Path) -> None:
    """DVC's cache and the local model store, shared with the workspace (not copied)."""
    cache = Path(Dvc(root).run("cache", "dir").stdout.strip()).resolve()
    (work / ".dvc").mkdir(parents=True, exist_ok=True)
    local = root / ".dvc" / "config.local"
    if local.is_file():
        _copy(local, work / ".dvc" / "config.local")
    if not (work / ".dvc" / "cache").exists():
        (work / ".dvc" / "cache").symlink_to(cache, target_is_directory=True)
    Dvc(work).run("config", "--local", "cache.dir", str(cache))
    store = root / ".mlform" / "registry"
    if store.is_dir():
        (work / ".mlform").mkdir(parents=True, exist_ok=True)
        (work / ".mlform" / "registry").symlink_to(store.resolve(), target_is_directory=True)


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = destination.with_name(f".{destination.name}.mlform-tmp-{os.getpid()}")
    shutil.copy2(source, temp, follow_symlinks=False)
    os.replace(temp, destination)


def carry_back(work: Path, root: Path, files: list[Path], backup: Backup) -> None:
    """An accepted challenger into the workspace: ``files`` (the data, its ``.dvc``),
    ``dvc.lock`` where the workspace keeps it, and every output it names. ``backup`` keeps
    what they replace, for the caller to restore if the commit fails."""
    lock = lock_file(work)
    outputs = [
        out.path
        for stage in read_lock(work).stages.values()
        for out in stage.outs
        if (work / out.path).is_file()
    ]
    pairs = [(work / f.relative_to(root), f) for f in files]
    pairs += [(work / p, root / p) for p in sorted(set(outputs))]
    pairs.append((lock, lock_file(root) if lock_file(root).exists() else root / "dvc.lock"))
    backup.save([target for _, target in pairs])
    for source, target in pairs:
        _copy(source, target)
    Dvc(root).checkout()  # outputs that are folders, from the shared cache
