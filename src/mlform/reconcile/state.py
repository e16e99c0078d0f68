"""State per environment, and its lock, in the environment's backend (``backends/``).

The document::

    {"version": 1, "serial": 12, "lineage": "…uuid…", "mlform_version": "0.1.0",
     "applied_revision": "<git sha>", "attempted_revision": "<git sha>",
     "last_failure": {"revision": "…", "specs": "…", "at": "…", "errors": ["…"]} | null,
     "resources": {"training.credit-gbm": {"type": "training", "name": "credit-gbm",
         "spec_hash": "…", "meta_hash": "…", "spec": {…}, "meta": {…},
         "depends_on": ["dataset.credit", …], "prevent_destroy": false,
         "status": "applied" | "failed", "error": "…", "outputs": {…}, "applied_at": "…"}}}

Every save is a compare-and-swap on what was read, so a writer that lost its lock cannot
overwrite another's state. A document that does not parse is reported, never overwritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.clock import stamp
from mlform.errors import UserError
from mlform.reconcile.backends import Backend, Held, configured, journal, lock_info, open_backend
from mlform.reconcile.backends.journal import Size
from mlform.reconcile.backends.local import LocalBackend
from mlform.version import __version__

if TYPE_CHECKING:
    from mlform.project import ProjectGraph

STATE_VERSION = 1
DEFAULT_ENV = "default"


def now() -> str:
    return stamp()


def backend_of(graph: ProjectGraph, environment: str) -> Backend:
    """The backend the Project names for ``environment``."""
    from mlform.reconcile.backends import settings

    spec = graph.project.spec
    config = settings(spec.state, dict(spec.environments), environment)
    return open_backend(graph.root, config, environment)


def backend_at(root: Path, environment: str) -> Backend:
    """The backend of the project at ``root``, read without validating every spec."""
    return open_backend(root, configured(root, environment))


@dataclass
class State:
    backend: Backend | None = None  # None: a state held in memory only (tests, plans)
    environment: str = DEFAULT_ENV
    serial: int = 0
    lineage: str = field(default_factory=lambda: str(uuid.uuid4()))
    applied_revision: str | None = None
    attempted_revision: str | None = None
    last_failure: dict[str, Any] | None = None
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    exists: bool = False
    token: str | None = None  # what a compare-and-swap save must find (None: no state yet)
    held: Held | None = field(default=None, repr=False)  # the lock it is written under
    checkpoint: Callable[[], None] | None = field(default=None, repr=False)  # crash tests
    size: Size = field(default_factory=Size, repr=False)  # the stored snapshot and journal
    # a digest of each resource's record as stored: a save writes only the changed ones
    stored: dict[str, bytes] = field(default_factory=dict, repr=False)
    stored_serial: int = field(default=0, repr=False)  # the serial as read or last saved

    @classmethod
    def load(cls, root: Path, environment: str) -> State:
        """This checkout's local state (the ``local`` backend)."""
        return cls.read(LocalBackend(root), environment)

    @classmethod
    def read(cls, backend: Backend, environment: str) -> State:
        stored = backend.read(environment)
        if stored is None:
            return cls(backend, environment)
        data = stored.data
        where = backend.where(environment)
        try:
            if data.get("version") != STATE_VERSION or not isinstance(data.get("resources"), dict):
                raise ValueError("not an mlform state of version 1")
            return cls(
                backend,
                environment,
                int(data["serial"]),
                str(data["lineage"]),
                data.get("applied_revision"),
                data.get("attempted_revision"),
                data.get("last_failure"),
                data["resources"],
                True,
                stored.token,
                size=stored.size,
                stored=_records(data["resources"]),
                stored_serial=int(data["serial"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            hint = (
                f"Inspect it, or restore the previous state from {Path(where).name}.backup."
                if isinstance(backend, LocalBackend)
                else "Inspect it with `mlform state pull`; replace it with `mlform state push`."
            )
            raise UserError(
                f"the state file {where} is corrupt ({error}); it was not changed", hint=hint
            ) from None

    @property
    def where(self) -> str:
        return self.backend.where(self.environment) if self.backend else "(in memory)"

    def to_json(self, with_resources: bool = True) -> dict[str, Any]:
        document: dict[str, Any] = {
            "version": STATE_VERSION,
            "serial": self.serial,
            "lineage": self.lineage,
            "mlform_version": __version__,
            "applied_revision": self.applied_revision,
            "attempted_revision": self.attempted_revision,
            "last_failure": self.last_failure,
        }
        if with_resources:
            document["resources"] = dict(sorted(self.resources.items()))
        return document

    def save(self) -> None:
        """serial + 1, then a compare-and-swap write of what changed since the last read or
        save (one journal entry), or of the whole document when the journal is due for
        compaction (``journal.Size``) or there is no state yet."""
        if self.held is not None:
            self.held.check()
        self.serial += 1
        if self.checkpoint is not None:
            self.checkpoint()
        if self.backend is None:
            raise RuntimeError("this state has no backend to save to")  # pragma: no cover
        records = _records(self.resources)
        changed: dict[str, dict[str, Any] | None] = {
            a: self.resources[a] for a, r in records.items() if self.stored.get(a) != r
        }
        changed.update({a: None for a in self.stored if a not in records})
        change = journal.entry(self.to_header(), dict(sorted(changed.items())))
        length = len(journal.encode(change))
        whole = (
            not self.exists
            or self.serial != self.stored_serial + 1  # a state replaced (`state push`)
            or self.size.plus(length).compaction_due
        )
        if whole or self.token is None:
            document = self.to_json()
            self.token = self.backend.write(self.environment, document, self.token)
            self.size = journal.Size(len(journal.encode(document)))
        else:
            self.token = self.backend.append(self.environment, change, self.token)
            self.size = self.size.plus(length)
        self.stored, self.stored_serial = records, self.serial
        self.exists = True

    def to_header(self) -> dict[str, Any]:
        return self.to_json(with_resources=False)


def _records(resources: dict[str, dict[str, Any]]) -> dict[str, bytes]:
    """A digest of each resource's record (orjson, keys sorted): what tells a save which
    records changed, even those changed in place, in 16 bytes a record."""
    import hashlib

    import orjson

    dumps, sort, digest = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.blake2b
    return {a: digest(dumps(r, option=sort), digest_size=16).digest() for a, r in resources.items()}


@contextmanager
def hold(
    backend: Backend,
    environment: str,
    operation: str,
    timeout: float,
    notice: Callable[[str], None] | None = None,
) -> Iterator[Held]:
    """Hold the environment's lock; wait up to ``timeout`` seconds for another holder."""
    info = lock_info(operation, backend.where(environment))
    with backend.lock(environment, info, timeout, notice or (lambda _: None)) as held:
        yield held


# --- this checkout's local state (the local backend), by project folder ----------------------
def locked(
    root: Path,
    environment: str,
    operation: str,
    timeout: float,
    notice: Callable[[str], None] | None = None,
) -> Any:
    """The local backend's lock (``notice`` hears of a dead holder's lock taken over)."""
    return hold(LocalBackend(root), environment, operation, timeout, notice)


def read_lock(root: Path, environment: str) -> dict[str, Any] | None:
    return LocalBackend(root).read_lock(environment)


def force_unlock(root: Path, environment: str, lock_id: str) -> dict[str, Any]:
    return LocalBackend(root).force_unlock(environment, lock_id)
