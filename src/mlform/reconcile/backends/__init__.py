"""Where the reconciler's state and lock live, per environment.

- ``local``: a file of this checkout (``.mlform/state/<env>.json``) and an exclusive lock
  file; for one machine.
- ``git``: refs of the team's repository (``refs/mlform/state/<env>``,
  ``refs/mlform/lock/<env>``), each a commit holding one JSON file, written by
  compare-and-swap push (``--force-with-lease``): two writers cannot both win, and a lock
  carries a lease its holder renews, so a killed runner's lock is free on every machine
  once the lease runs out.
- ``postgres``: Terraform's pg backend model: a table of states (serial, lineage), and a
  session advisory lock held for the whole operation, released by the server when the
  holder's connection ends.

Every backend stores the same document (``State.to_json``) as a snapshot and a journal of
the saves since (``journal``: a save writes what it changed), and answers the same
questions: read, compare-and-swap write and append, lock, force-unlock, list.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlform.clock import stamp
from mlform.errors import UserError
from mlform.reconcile.backends.journal import Size
from mlform.spec.project import StateBackend
from mlform.state_settings import for_environment, resolve
from mlform.version import __version__

Notice = Callable[[str], None]


@dataclass(frozen=True)
class Stored:
    """A state document as a backend holds it; ``token`` is what a compare-and-swap write
    must find in place (a commit, a serial)."""

    data: dict[str, Any]  # the snapshot with its journal replayed (``journal.replay``)
    token: str
    size: Size = field(default_factory=Size)  # what the next save decides compaction on


class StateConflict(UserError):
    """Another writer changed the state since it was read."""


@dataclass
class Held:
    """A lock while it is held; ``lost`` is set when a lease could not be renewed."""

    info: dict[str, Any]
    lost: str = ""
    token: str = ""  # the backend's handle on it (the lock commit of the git backend)
    renewed: float = 0.0  # when its lease was last renewed (time.time())
    probe: Callable[[], str] | None = None  # why the lock is gone, asked before each write

    def check(self) -> None:
        if not self.lost and self.probe is not None:
            self.lost = self.probe()
        if self.lost:
            raise UserError(
                f"the lock {self.info['ID']} was lost ({self.lost}); nothing more is written",
                hint="Run the operation again.",
            )


class Backend(Protocol):
    name: str

    def where(self, environment: str) -> str:
        """Where the state of ``environment`` is, in words (for messages and `state list`)."""
        ...

    def read(self, environment: str) -> Stored | None: ...

    def write(self, environment: str, data: dict[str, Any], token: str | None) -> str:
        """Store ``data`` as the new snapshot (its journal dropped) if the stored token is
        still ``token`` (None: no state yet); return the new token, or raise StateConflict."""
        ...

    def append(self, environment: str, entry: dict[str, Any], token: str) -> str:
        """Add one journal entry (``journal.entry``) if the stored token is still ``token``;
        return the new token, or raise StateConflict."""
        ...

    def lock(
        self, environment: str, info: dict[str, Any], timeout: float, notice: Notice
    ) -> AbstractContextManager[Held]: ...

    def read_lock(self, environment: str) -> dict[str, Any] | None: ...

    def force_unlock(self, environment: str, lock_id: str) -> dict[str, Any]: ...

    def environments(self) -> list[str]: ...


def lock_info(operation: str, where: str) -> dict[str, Any]:
    """Terraform's lock info. ``Who`` is for people; no backend trusts it for liveness."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "ID": str(uuid.uuid4()),
        "Operation": operation,
        "Who": f"{user}@{socket.gethostname()}",
        "Version": __version__,
        "Created": stamp(),
        "Path": where,
    }


def describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "unknown"
    return (
        f"{holder.get('Who')} ({holder.get('Operation')}, since {holder.get('Created')}, "
        f"ID {holder.get('ID')})"
    )


def busy(environment: str, holder: dict[str, Any] | None) -> UserError:
    return UserError(
        f"the '{environment}' environment is locked by {describe(holder)}",
        hint="Wait for it, raise --lock-timeout, or if it is stuck: mlform force-unlock ID",
    )


def settings(spec: StateBackend, environments: dict[str, Any], environment: str) -> StateBackend:
    """The environment's own backend settings, else the Project's."""
    return for_environment(spec, environments, environment)


def open_backend(root: Path, config: StateBackend, environment: str | None = None) -> Backend:
    """The backend ``config`` names (``auto`` resolved for this repository). A state left
    in this checkout when ``auto`` has become git (the repository got its remote) is not
    silently forgotten: it is refused until migrated, or the backend pinned to local."""
    resolved = resolve(root, config)
    if resolved.backend == "git":
        from mlform.reconcile.backends.gitrefs import GitBackend

        backend: Backend = GitBackend(root, resolved.git)
        if config.backend == "auto" and environment is not None:
            _refuse_stranded(root, backend, environment)
        return backend
    if resolved.backend == "postgres":
        from mlform.reconcile.backends.postgres import PostgresBackend

        return PostgresBackend(resolved.postgres)
    from mlform.reconcile.backends.local import LocalBackend

    return LocalBackend(root)


def _refuse_stranded(root: Path, shared: Backend, environment: str) -> None:
    from mlform.reconcile.backends.local import LocalBackend

    local = LocalBackend(root)
    if not local.path(environment).is_file() or shared.read(environment) is not None:
        return
    raise UserError(
        f"the state of '{environment}' is in this checkout ({local.where(environment)}), but "
        f"the repository now has the git remote the team's state lives in "
        f"(state.backend: auto means git here): {shared.where(environment)} has none yet",
        hint="Move it there: `mlform state migrate --from local` (under both locks); or "
        "keep it in this checkout: `state: {backend: local}` in mlform.yaml.",
    )


def configured(root: Path, environment: str) -> StateBackend:
    """The backend settings in ``root``'s mlform.yaml, read without validating every spec
    (so `force-unlock` and `state` work when other specs are broken)."""
    from pydantic import ValidationError

    from mlform.loader import load_file
    from mlform.spec import Project

    docs, _ = load_file(root / "mlform.yaml", "mlform.yaml")
    for doc in docs:
        if isinstance(doc.data, dict) and doc.data.get("kind") == "Project":
            try:
                project = Project.model_validate(doc.data)
            except ValidationError:
                raise UserError(
                    "mlform.yaml has errors; run `mlform validate`",
                    hint="The state backend is read from the Project document.",
                ) from None
            spec = project.spec
            return settings(spec.state, dict(spec.environments), environment)
    return StateBackend()


def polling(timeout: float) -> Iterator[float]:
    """Seconds to sleep between attempts until ``timeout`` has passed (0.2 s, then 1 s)."""
    import time

    deadline = time.monotonic() + timeout
    step = 0.2
    while time.monotonic() < deadline:
        yield min(step, max(0.0, deadline - time.monotonic()))
        step = min(1.0, step * 2)
