"""The ``git`` backend: state and lock as refs of the team's repository.

``refs/mlform/state/<env>`` is a commit holding ``state.json`` (the snapshot) and one
``journal-<serial>.json`` per save since (``journal``); each write is a child of the last, pushed with ``--force-with-lease=<ref>:<the commit read>``, so it lands only if nobody
wrote in between (the server checks it atomically). ``refs/mlform/lock/<env>`` is a commit
holding ``lock.json`` (holder, operation, time, and ``Expires``): taken by a push that
requires the ref to be absent, renewed by its holder every third of the lease, deleted on
release. A lock whose lease ran out (its holder was killed, or lost its network) is taken
over by compare-and-swap on any machine: liveness never rests on a pid or a hostname.

Refs outside refs/heads and refs/tags are not fetched by a clone; every read asks the
remote (``ls-remote``) first, so a plan on a fresh clone or a laptop sees the shared truth.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlform.clock import duration_seconds, stamp
from mlform.engines.git import Git
from mlform.errors import UserError
from mlform.reconcile.backends import Held, Notice, StateConflict, Stored, busy, journal, polling
from mlform.reconcile.backends.journal import Size
from mlform.spec.project import GitState

STATE_REF = "refs/mlform/state/"
JOURNAL = "journal-"  # the commit's files beside state.json: one per save since it
LOCK_REF = "refs/mlform/lock/"


class GitBackend:
    name = "git"

    def __init__(self, root: Path, config: GitState) -> None:
        self.git = Git(root)
        self.remote = config.remote
        self.lease = duration_seconds(config.lease)
        if not self.git.has_remote(self.remote):
            raise UserError(
                f"the state backend is git, but this repository has no remote '{self.remote}'",
                hint=f"Add it (git remote add {self.remote} URL), or set "
                "Project.spec.state.git.remote to the team's remote.",
            )

    def where(self, environment: str) -> str:
        return f"{STATE_REF}{environment} on {self.remote}"

    # --- reading and writing documents ----------------------------------------------------
    def _document(self, ref: str, name: str) -> tuple[dict[str, Any], str] | None:
        sha = self._fetched(ref)
        if sha is None:
            return None
        text = self.git.show(sha, name)
        try:
            data = json.loads(text)
        except ValueError as error:
            raise UserError(f"{ref} on {self.remote} holds no valid {name} ({error})") from None
        if not isinstance(data, dict):
            raise UserError(f"{ref} on {self.remote} holds no valid {name}")
        return data, sha

    def _fetched(self, ref: str, attempts: int = 5) -> str | None:
        """The commit ``ref`` points at on the remote, present here; None when it is not
        there. Another runner may move or delete the ref between our ``ls-remote`` and our
        fetch (a lock released, a state written): then we look again."""
        for _ in range(attempts):
            sha = self.git.remote_ref(self.remote, ref)
            if sha is None or self.git.has_object(sha):
                return sha
            if self.git.fetch_ref_if_there(self.remote, ref) and self.git.has_object(sha):
                return sha
            if self.git.remote_ref(self.remote, ref) == sha:
                self.git.fetch_ref(self.remote, ref)  # not a race: fails, saying why
        raise UserError(f"{ref} on {self.remote} kept changing while it was read; try again")

    def read(self, environment: str) -> Stored | None:
        ref = STATE_REF + environment
        found = self._document(ref, "state.json")
        if found is None:
            return None
        snapshot, sha = found
        names = [n for n in self.git.tree_names(sha) if n.startswith(JOURNAL)]
        texts = self.git.blobs(sha, sorted(names))
        try:
            data = journal.replay(snapshot, [json.loads(t) for t in texts])
        except ValueError as error:
            raise UserError(f"{ref} on {self.remote} holds no valid state ({error})") from None
        snapshot_bytes = int(self.git.run("cat-file", "-s", f"{sha}:state.json"))
        size = Size(snapshot_bytes, len(texts), sum(map(len, texts)))
        return Stored(data, sha, size)

    def write(self, environment: str, data: dict[str, Any], token: str | None) -> str:
        text = json.dumps(data, indent=2) + "\n"
        commit = self.git.write_commit(
            {"state.json": text}, token, f"mlform state {environment} serial {data.get('serial')}"
        )
        return self._push(environment, commit, token)

    def append(self, environment: str, entry: dict[str, Any], token: str) -> str:
        """A commit of the parent's tree plus one journal file: only the entry is new."""
        serial = int(entry["serial"])
        commit = self.git.extend_commit(
            token,
            {f"{JOURNAL}{serial:012d}.json": journal.encode(entry) + "\n"},
            f"mlform state {environment} serial {serial}",
        )
        return self._push(environment, commit, token)

    def _push(self, environment: str, commit: str, token: str | None) -> str:
        if not self.git.push_if(self.remote, STATE_REF + environment, commit, token):
            raise StateConflict(
                f"the state of '{environment}' on {self.remote} changed since it was read "
                "(another apply wrote it)",
                hint="Nothing was overwritten. Run `mlform plan` again.",
            )
        return commit

    def environments(self) -> list[str]:
        out = self.git.run("ls-remote", "--", self.remote, f"{STATE_REF}*")
        return sorted(line.split("\t")[1].removeprefix(STATE_REF) for line in out.splitlines())

    # --- the lock ----------------------------------------------------------------------
    def read_lock(self, environment: str) -> dict[str, Any] | None:
        found = self._document(LOCK_REF + environment, "lock.json")
        return None if found is None else found[0]

    def _lock_commit(self, info: dict[str, Any]) -> str:
        until = time.time() + self.lease
        body = {**info, "Expires": stamp(until), "expires_at": until}
        return self.git.write_commit(
            {"lock.json": json.dumps(body, indent=2) + "\n"},
            None,
            f"mlform lock {info['Operation']} {info['ID']}",
        )

    @contextmanager
    def lock(
        self, environment: str, info: dict[str, Any], timeout: float, notice: Notice
    ) -> Iterator[Held]:
        ref = LOCK_REF + environment
        held = Held(dict(info))
        held.token = self._acquire(environment, ref, held, timeout, notice)
        held.renewed = time.time()
        guard = threading.Lock()  # the token changes only with the remote ref

        def probe() -> str:
            with guard:
                current = self.git.remote_ref(self.remote, ref)
                return "" if current == held.token else "it was removed or taken over"

        held.probe = probe
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(ref, held, stop, guard), name="mlform-lock-lease", daemon=True
        )
        renewer.start()
        try:
            yield held
        finally:
            stop.set()
            renewer.join()
            if not held.lost:
                self.git.push_if(self.remote, ref, None, held.token)

    def _acquire(
        self, environment: str, ref: str, held: Held, timeout: float, notice: Notice
    ) -> str:
        waits = polling(timeout)
        while True:
            commit = self._lock_commit(held.info)
            if self.git.push_if(self.remote, ref, commit, None):
                return commit
            found = self._document(ref, "lock.json")
            if found is not None:
                holder, holder_sha = found
                if float(holder.get("expires_at", 0)) < time.time():
                    commit = self._lock_commit(held.info)
                    if self.git.push_if(self.remote, ref, commit, holder_sha):
                        notice(
                            f"Took over the lock {holder.get('ID')} of {holder.get('Who')}: "
                            f"its lease ran out at {holder.get('Expires')}."
                        )
                        return commit
                    continue  # someone else took it first: look again
            else:
                continue  # released in between
            pause = next(waits, None)
            if pause is None:
                raise busy(environment, holder)
            time.sleep(pause)

    def _renew(self, ref: str, held: Held, stop: threading.Event, guard: threading.Lock) -> None:
        while not stop.wait(self.lease / 3):
            commit = self._lock_commit(held.info)
            with guard:
                try:
                    renewed = self.git.push_if(self.remote, ref, commit, held.token)
                except UserError as error:  # the remote is unreachable: try again next time
                    if time.time() - held.renewed > self.lease:
                        held.lost = f"cannot reach {self.remote}: {error.message}"
                        return
                    continue
                if not renewed:
                    held.lost = "another operation took it over after its lease ran out"
                    return
                held.token, held.renewed = commit, time.time()

    def force_unlock(self, environment: str, lock_id: str) -> dict[str, Any]:
        ref = LOCK_REF + environment
        found = self._document(ref, "lock.json")
        if found is None:
            raise UserError(f"the '{environment}' environment is not locked")
        holder, sha = found
        if holder.get("ID") != lock_id:
            raise UserError(f"the lock of '{environment}' has ID {holder.get('ID')}, not {lock_id}")
        if not self.git.push_if(self.remote, ref, None, sha):
            raise UserError(f"the lock of '{environment}' changed while removing it; look again")
        return holder
