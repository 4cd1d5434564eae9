"""The PostgreSQL journal of an exclusive writer: the file journal's sealed lines, one row per record.

Selected with ``--journal postgresql://USER@HOST/DATABASE?schema=NAME`` (see
:mod:`eventjobs.journal.pg_url`); the tables are created on first use and
their schema version is checked on every start (:mod:`.pg_schema`). Rows
are written and read by :mod:`.pg_rows`, so reading verifies the same hash
chain as a file journal and the audit tools read both backends alike.

Two kinds of writer share the tables. A server is always a *node*, one
among any number (:class:`~eventjobs.journal.pg_node.PostgresNodeJournal`).
The journal here is the *exclusive* writer (``eventjobs journal copy``, the
contract tests): it appends plain records with :meth:`PostgresJournal.append`
under the journal's lock (:mod:`.pg_lock`), held while it is open.

Appends: one transaction per batch (group commit). It first moves the
one-row ``head`` table from the head this journal knows to the batch's last
record (compare and set, under the row's lock, and only while the lock's
session still holds the lock), then copies the rows in and sends ``NOTIFY``
with the new head. The row lock serialises appends, so batches commit in
sequence order and a reader that saw seq N never later finds an earlier
committed record it missed; and a batch that does not continue the head in
the database (another writer got there first) is refused with
JournalConflict, nothing written. When the lock was lost, the append fails
(JournalUnavailable) and the retry takes the lock again, or raises
JournalInUse when another writer holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from ..errors import JournalConflict, JournalUnavailable
from ._protocol import Recorded
from .memory import check_continues
from .pg_base import PostgresJournalBase
from .pg_connect import connect
from .pg_lock import JournalLock
from .pg_rows import copy_rows, encode_rows, read_head
from .pg_schema import ensure_schema
from .pg_url import PostgresLocation, parse_postgres_url

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresJournal"]


class PostgresJournal(PostgresJournalBase):
    """A journal in a PostgreSQL schema that this process alone writes.
    Create it with :meth:`open`."""

    def __init__(
        self,
        location: PostgresLocation,
        lock: JournalLock,
        head: int,
        last_hash: str,
        pool_size: int = 4,
    ) -> None:
        super().__init__(location, head, last_hash, pool_size)
        self._lock = lock
        #: Set when an append failed: it may or may not have committed, and
        #: the database may have restarted (dropping the lock).
        self._uncertain = False

    @classmethod
    def open(
        cls, url: str | PostgresLocation, *, pool_size: int = 4
    ) -> PostgresJournal:
        """Open (creating its tables if needed) the journal *url* names, and
        hold its lock until :meth:`aclose`.

        Blocking: call it before serving or from a worker thread.

        Raises:
            ConfigError: the URL is bad, the server cannot be reached or
                refuses the login, or the schema is of another version.
            JournalInUse: another writer holds the journal.
            JournalCorrupt: the last record does not match the head.
        """
        location = url if isinstance(url, PostgresLocation) else parse_postgres_url(url)
        conn = connect(location, autocommit=True)
        try:
            ensure_schema(conn, location)
            lock = JournalLock.take(location, conn)
            head, last_hash = read_head(conn, location)
        except BaseException:
            conn.close()
            raise
        return cls(location, lock, head, last_hash, pool_size)

    async def append(self, records: Sequence[Recorded]) -> list[int]:
        """Append *records* in one transaction; their locations are their seqs.

        Raises:
            JournalConflict: they do not continue the head (here, or in the
                database: another writer appended); nothing was written.
            JournalUnavailable: the database failed, or the lock was lost
                (the next append takes it again); whether it was written is
                unknown until then.
            JournalInUse: another writer took the journal while the lock was lost.

        Cancellation: the transaction is finished (committed or rolled back)
        in its thread before ``Cancelled`` is raised.
        """
        if self._uncertain:
            await self._run(self._resync, "reading the head of")
        check_continues(self._head, records)
        if not records:
            await trio.lowlevel.checkpoint()
            return []
        rows, new_hash = encode_rows(records, self._last_hash)
        write = partial(
            self._write, rows, self._head, self._last_hash, records[-1].seq, new_hash
        )
        try:
            await self._run(write, "appending to")
        except JournalUnavailable:
            self._uncertain = True
            raise
        self._head, self._last_hash = records[-1].seq, new_hash
        return [record.seq for record in records]

    def _write(
        self,
        rows: list[tuple[Any, ...]],
        head: int,
        head_hash: str,
        new_head: int,
        new_hash: str,
        conn: psycopg.Connection,
    ) -> None:
        schema = self._schema
        held, held_params = self._lock.guard()
        with conn.transaction():
            # Only while this writer's lock session still holds the lock (in
            # the same statement: no round trip more per batch).
            moved = conn.execute(
                f"UPDATE {schema}.head SET seq = %s, hash = %s WHERE seq = %s AND hash = %s "
                f"AND {held}",
                (new_head, new_hash, head, head_hash, *held_params),
            )
            if moved.rowcount != 1:
                actual = conn.execute(f"SELECT seq, hash FROM {schema}.head").fetchone()
                if actual is not None and tuple(actual) == (head, head_hash):
                    # Caught by append: the retry resynchronises (_resync).
                    raise JournalUnavailable(
                        f"the lock on the PostgreSQL journal {self.location} was lost (its "
                        "database connection was cut); nothing was written"
                    )
                raise JournalConflict(
                    f"the PostgreSQL journal {self.location}: append expected the head at "
                    f"{head} but it is at {actual[0] if actual else '?'} (another writer "
                    "appended to this journal); nothing was written"
                )
            copy_rows(conn, schema, rows)
            # Delivered at commit, to every listener: a follower's wake-up call.
            conn.execute("SELECT pg_notify(%s, %s)", (self.channel, str(new_head)))

    def _resync(self, conn: psycopg.Connection) -> None:
        """After a failed append: hold the lock again if the database dropped
        it, then take the head from the database (the failed batch may have
        committed before its reply was lost; the writer's rebuild of the views
        reads the records the same way, so both agree).

        Raises:
            JournalInUse: another writer took the journal meanwhile.
        """
        self._lock.retake_if_lost(conn)
        self._head, self._last_hash = read_head(conn, self.location)
        self._uncertain = False

    async def save_snapshot(
        self, position: int, header: dict[str, Any], jobs: Iterable[dict[str, Any]]
    ) -> None:
        """Durably store a snapshot as of *position* (at most the head),
        consuming *jobs* one at a time in a worker thread (pg_snapshots.py).

        Raises:
            ValueError: *position* is past the head.
            JournalUnavailable: the database failed; no new snapshot is kept.
        """
        await self._store_snapshot(position, header, jobs, min_gap=0)

    async def aclose(self) -> None:
        """Close every connection, releasing the journal's lock. Idempotent."""
        if self._close_connections():
            await trio.to_thread.run_sync(self._lock.release)
        await trio.lowlevel.checkpoint()
