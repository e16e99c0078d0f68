"""The ``postgres`` backend, on Terraform's pg backend model.

One table holds each environment's state (serial, lineage, the document); a write lands
only where the row still has the serial that was read. The lock is a session advisory lock
(``pg_try_advisory_lock``) held on its own connection for the whole operation: when the
holder dies its connection ends and the server releases the lock, on every machine. Who
holds it is kept beside, in ``<table>_lock``, for messages and `force-unlock` (which ends
the holder's session). The connection string comes from an environment variable, never
from the specs or the state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlform.errors import UserError
from mlform.reconcile.backends import Held, Notice, StateConflict, Stored, busy, journal, polling
from mlform.reconcile.backends.journal import Size
from mlform.spec.project import PostgresState


class PostgresBackend:
    name = "postgres"

    def __init__(self, config: PostgresState) -> None:
        self.variable = config.dsn_env
        self.table = config.table
        self.dsn = os.environ.get(config.dsn_env, "")
        if not self.dsn:
            raise UserError(
                f"the state backend is postgres, but the environment variable "
                f"{config.dsn_env} (its connection string) is not set",
                hint=f"export {config.dsn_env}='postgresql://USER@HOST/DB' (a CI secret in CI).",
            )

    def where(self, environment: str) -> str:
        return f"table {self.table}, row '{environment}' (${self.variable})"

    def _connect(self) -> Any:
        try:
            import psycopg
            import psycopg.errors
        except ImportError:
            raise UserError(
                "the postgres state backend needs psycopg",
                hint="pip install 'mlform[postgres]'",
            ) from None
        try:
            connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "failed"
            raise UserError(
                f"cannot connect to the state database (${self.variable}): {_scrub(first, self.dsn)}"
            ) from None
        # The table name is pattern-checked by the spec (lowercase letters, digits, '_').
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " environment text PRIMARY KEY, serial bigint NOT NULL, lineage text NOT NULL,"
            " state text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())",
            # the journal (backends/journal.py): one row per save since the snapshot
            f"CREATE TABLE IF NOT EXISTS {self.table}_journal ("
            " environment text NOT NULL, serial bigint NOT NULL, entry text NOT NULL,"
            " PRIMARY KEY (environment, serial))",
            f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS snapshot_serial bigint",
            f"CREATE TABLE IF NOT EXISTS {self.table}_lock ("
            " environment text PRIMARY KEY, id text NOT NULL, info text NOT NULL,"
            " pid integer NOT NULL)",
        ):
            # another process may create it at the same moment
            with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
                connection.execute(statement)
        return connection

    @contextmanager
    def _session(self) -> Iterator[Any]:
        connection = self._connect()
        try:
            yield connection
        finally:
            connection.close()

    # --- documents ----------------------------------------------------------------------
    def read(self, environment: str) -> Stored | None:
        with self._session() as db, db.transaction():
            db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = db.execute(
                f"SELECT serial, snapshot_serial, state FROM {self.table} WHERE environment = %s",
                (environment,),
            ).fetchone()
            if row is None:
                return None
            serial, snapshot_serial, text = row
            entries = db.execute(
                f"SELECT entry FROM {self.table}_journal WHERE environment = %s AND serial > %s"
                " ORDER BY serial",
                (environment, snapshot_serial if snapshot_serial is not None else serial),
            ).fetchall()
        try:
            data = journal.replay(json.loads(text), [json.loads(e[0]) for e in entries])
        except ValueError as error:
            raise UserError(
                f"the state of '{environment}' in {self.table} is corrupt ({error}); "
                "it was not changed",
                hint="Inspect it with `mlform state pull`; replace it with `mlform state push`.",
            ) from None
        size = Size(len(text), len(entries), sum(len(e[0]) for e in entries))
        return Stored(data, str(serial), size)

    def write(self, environment: str, data: dict[str, Any], token: str | None) -> str:
        text = json.dumps(data, indent=2) + "\n"
        serial, lineage = int(data["serial"]), str(data["lineage"])
        with self._session() as db, db.transaction():
            if token is None:
                done = db.execute(
                    f"INSERT INTO {self.table} (environment, serial, lineage, state,"
                    " snapshot_serial) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (environment) DO NOTHING",
                    (environment, serial, lineage, text, serial),
                )
            else:
                done = db.execute(
                    f"UPDATE {self.table} SET serial = %s, lineage = %s, state = %s,"
                    " snapshot_serial = %s, updated_at = now()"
                    " WHERE environment = %s AND serial = %s",
                    (serial, lineage, text, serial, environment, int(token)),
                )
            if done.rowcount != 1:
                raise self._conflict(environment)
            db.execute(f"DELETE FROM {self.table}_journal WHERE environment = %s", (environment,))
        return str(serial)

    def append(self, environment: str, entry: dict[str, Any], token: str) -> str:
        serial = int(entry["serial"])
        with self._session() as db, db.transaction():
            done = db.execute(
                f"UPDATE {self.table} SET serial = %s, snapshot_serial ="
                " COALESCE(snapshot_serial, serial), updated_at = now()"
                " WHERE environment = %s AND serial = %s",
                (serial, environment, int(token)),
            )
            if done.rowcount != 1:
                raise self._conflict(environment)
            db.execute(
                f"INSERT INTO {self.table}_journal (environment, serial, entry) VALUES (%s, %s, %s)",
                (environment, serial, journal.encode(entry)),
            )
        return str(serial)

    def _conflict(self, environment: str) -> StateConflict:
        return StateConflict(
            f"the state of '{environment}' in {self.table} changed since it was read "
            "(another apply wrote it)",
            hint="Nothing was overwritten. Run `mlform plan` again.",
        )

    def environments(self) -> list[str]:
        with self._session() as db:
            rows = db.execute(f"SELECT environment FROM {self.table} ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    # --- the lock ----------------------------------------------------------------------
    def _key(self, environment: str) -> int:
        digest = hashlib.sha256(f"mlform:{self.table}:{environment}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def read_lock(self, environment: str) -> dict[str, Any] | None:
        """The holder, when one holds the lock now (a row of a dead session is not one)."""
        unsigned = self._key(environment) & 0xFFFFFFFFFFFFFFFF  # pg_locks splits the key
        with self._session() as db:
            row = db.execute(
                f"SELECT l.info FROM {self.table}_lock l JOIN pg_locks k ON k.pid = l.pid"
                " WHERE l.environment = %s AND k.locktype = 'advisory' AND k.granted"
                " AND k.classid = %s::oid AND k.objid = %s::oid AND k.objsubid = 1",
                (environment, unsigned >> 32, unsigned & 0xFFFFFFFF),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    @contextmanager
    def lock(
        self, environment: str, info: dict[str, Any], timeout: float, notice: Notice
    ) -> Iterator[Held]:
        del notice  # a dead holder's lock is released by the server: nothing to take over
        db = self._connect()
        key = self._key(environment)
        try:
            waits = polling(timeout)
            while not db.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                pause = next(waits, None)
                if pause is None:
                    raise busy(environment, self.read_lock(environment))
                time.sleep(pause)
            db.execute(
                f"INSERT INTO {self.table}_lock (environment, id, info, pid)"
                " VALUES (%s, %s, %s, pg_backend_pid()) ON CONFLICT (environment) DO UPDATE"
                " SET id = EXCLUDED.id, info = EXCLUDED.info, pid = EXCLUDED.pid",
                (environment, info["ID"], json.dumps(info)),
            )
            held = Held(dict(info), probe=lambda: _gone(db))
            yield held
            if db.closed or db.broken:
                held.lost = "the connection to the state database ended"
        finally:
            import psycopg

            try:
                if not db.closed:
                    db.execute(
                        f"DELETE FROM {self.table}_lock WHERE environment = %s AND id = %s",
                        (environment, info["ID"]),
                    )
                    db.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except psycopg.Error:
                pass  # the session ended (force-unlock, a lost server): the lock went with it
            db.close()

    def force_unlock(self, environment: str, lock_id: str) -> dict[str, Any]:
        holder = self.read_lock(environment)
        if holder is None:
            raise UserError(f"the '{environment}' environment is not locked")
        if holder.get("ID") != lock_id:
            raise UserError(f"the lock of '{environment}' has ID {holder.get('ID')}, not {lock_id}")
        with self._session() as db:
            db.execute(
                f"SELECT pg_terminate_backend(pid) FROM {self.table}_lock WHERE environment = %s"
                " AND id = %s",
                (environment, lock_id),
            )
            db.execute(f"DELETE FROM {self.table}_lock WHERE environment = %s", (environment,))
        return holder


def _gone(db: Any) -> str:
    """Why the session holding the lock is over, or "" while it lives."""
    import psycopg

    try:
        db.execute("SELECT 1")
    except psycopg.Error as error:
        return f"its database session ended ({str(error).strip().splitlines()[0]})"
    return ""


def _scrub(message: str, dsn: str) -> str:
    """psycopg quotes a malformed connection string back: never print it (nor its
    password), since it comes from a secret."""
    for secret in (dsn, *_passwords(dsn)):
        if len(secret) >= 3:
            message = message.replace(secret, "***")
    return message


def _passwords(dsn: str) -> list[str]:
    """The password of a URL or ``key=value`` connection string, and the string's words."""
    import re
    from urllib.parse import urlsplit

    found = [m.group(1) for m in re.finditer(r"password\s*=\s*'?([^'\s]+)", dsn)]
    if "://" in dsn:
        try:
            password = urlsplit(dsn).password
        except ValueError:
            password = None
        if password:
            found.append(password)
    return [*found, *dsn.split()]
