"""What both PostgreSQL journals share: their connections, reads, snapshots and head.

The exclusive writer (:class:`~eventjobs.journal.postgres.PostgresJournal`)
and the node (:class:`~eventjobs.journal.pg_node.PostgresNodeJournal`) keep
the same rows (:mod:`.pg_rows`) and snapshots (:mod:`.pg_snapshots`) and read
them alike; they differ in how they append. Reads run on a pool of
connections (:class:`~eventjobs.journal.pg_connect.Pool`); every database
failure becomes :class:`~eventjobs.errors.JournalUnavailable`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import JournalCorrupt, JournalUnavailable
from ._protocol import Recorded
from .lines import PG_REPAIR_HINT
from .pg_connect import Pool, unavailable
from .pg_follow import POLL_SECONDS, HeadFollower
from .pg_rows import (
    database_head,
    hash_of,
    parse_job,
    read_row_at,
    read_rows,
    select_job,
)
from .pg_snapshots import newest_snapshot, snapshot_rows, store_snapshot
from .pg_url import PostgresLocation

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")


class PostgresJournalBase:
    """A journal in a PostgreSQL schema whose head is *head* (hash
    *last_hash*); a subclass adds appending and opening."""

    reads_block = True

    def __init__(
        self, location: PostgresLocation, head: int, last_hash: str, pool_size: int = 4
    ) -> None:
        self.location = location
        self._schema = location.schema
        self._head = head
        self._last_hash = last_hash
        self._pool = Pool(location, pool_size)
        self._follower = HeadFollower(location, self.database_head)
        self._closed = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location.redacted!r} head={self._head}>"

    @property
    def channel(self) -> str:
        """The NOTIFY channel that carries this journal's new heads."""
        return self._follower.channel

    @property
    def head(self) -> int:
        return self._head

    @property
    def last_hash(self) -> str:
        """The hash of the last record (the genesis hash when empty; "" for
        a node that knows only the seq of a head another node wrote)."""
        return self._last_hash

    async def _run(self, function: Callable[[psycopg.Connection], T], doing: str) -> T:
        """*function(conn)* on a pooled connection in a worker thread;
        database failures become JournalUnavailable (a conflict stays a
        conflict). Cancellation: see :meth:`Pool.run`."""
        if self._closed:
            raise JournalUnavailable(f"the journal {self.location} is closed")
        with unavailable(self.location, doing):
            return await self._pool.run(function)

    def _unavailable(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return unavailable(self.location, doing)

    # -- reading ---------------------------------------------------------------

    def read(self, after: int = 0) -> Iterator[Recorded]:
        """Yield the records after *after*, each verified against its hash and
        the one before. Blocking; holds one pooled connection while iterated.

        Raises:
            JournalCorrupt: naming the row's seq and the damage.
            JournalUnavailable: the database failed.
        """
        with self._unavailable("reading"), self._pool.connection() as conn:
            yield from read_rows(conn, self.location, after)

    def read_job(self, job_id: int) -> list[Recorded]:
        """Every record of job *job_id*, in order, each checked against its
        own hash (an index finds them: no scan of the journal). Blocking.

        Raises:
            JournalCorrupt: a row does not match its hash.
            JournalUnavailable: the database failed.
        """
        with (
            self._unavailable("reading a job's records of"),
            self._pool.connection() as conn,
        ):
            rows = select_job(conn, self._schema, job_id)
        return parse_job(self.location, rows)  # the connection is free meanwhile

    def read_at(self, location: int) -> Recorded:
        """The record with seq *location*, checked against its own hash. Blocking."""
        with self._unavailable("reading a record of"), self._pool.connection() as conn:
            return read_row_at(conn, self.location, location)

    async def database_head(self) -> int:
        """The head in the database now (one query)."""
        schema = self._schema
        return await self._run(
            lambda conn: database_head(conn, schema), "reading the head of"
        )

    async def wait_for_head(
        self, after: int, *, poll_seconds: float = POLL_SECONDS, look_first: bool = True
    ) -> int:
        """Wait until the head in the database is past *after*; return it
        (see :meth:`HeadFollower.wait_for_head`).

        Raises:
            JournalUnavailable: the database failed (call again to retry).

        Cancellation: safe at any point; nothing is left half done.
        """
        return await self._follower.wait_for_head(
            after, poll_seconds=poll_seconds, look_first=look_first
        )

    # -- snapshots -------------------------------------------------------------

    async def _store_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        min_gap: int,
    ) -> bool:
        """Store a snapshot as of *position* (at most the head), consuming
        *jobs* in a worker thread; with *min_gap*, only if the newest one is
        at least that many records older. Returns whether it was stored.

        Raises:
            ValueError: *position* is past the head.
            JournalUnavailable: the database failed; no new snapshot is kept.
        """
        if position > self._head:
            raise ValueError(
                f"a snapshot cannot be ahead of the head ({self._head}): {position}"
            )
        head, last_hash, location = self._head, self._last_hash, self.location

        def write(conn: psycopg.Connection) -> bool:
            known = position == head and last_hash  # a node may know only the seq
            record_hash = last_hash if known else hash_of(conn, location, position)
            return store_snapshot(
                conn,
                location.schema,
                position,
                record_hash,
                header,
                jobs,
                min_gap=min_gap,
            )

        return await self._run(write, "saving a snapshot in")

    def load_snapshot(
        self,
    ) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The newest snapshot ``(position, header, jobs)``, checked against
        the record it follows. Blocking; *jobs* reads its rows a chunk at a
        time on a pooled connection of its own while iterated.

        Raises:
            JournalCorrupt: it is damaged or does not match the records (the
                jobs iterator raises it for damage found while iterated).
        """
        with (
            self._unavailable("reading the snapshot of"),
            self._pool.connection() as conn,
        ):
            found = newest_snapshot(
                conn, self._schema, str(self.location), self._snapshot_lines
            )
            if found is None:
                return None
            position = found.position
            if (
                position > self._head
                or hash_of(conn, self.location, position) != found.record_hash
            ):
                raise JournalCorrupt(
                    f"{self.location}, table {self._schema}.snapshots: the snapshot at "
                    f"sequence number {position} does not match the journal's record there; "
                    f"delete its rows to start from the records alone. {PG_REPAIR_HINT}"
                )
        return position, found.header, found.jobs()

    @contextlib.contextmanager
    def _snapshot_lines(self, position: int) -> Iterator[Iterator[bytes]]:
        with (
            self._unavailable("reading the snapshot of"),
            self._pool.connection() as conn,
        ):
            with snapshot_rows(conn, self._schema, position) as lines:
                yield lines

    # -- closing ---------------------------------------------------------------

    def _close_connections(self) -> bool:
        """Close the pool and the listener; False if already closed."""
        if self._closed:
            return False
        self._closed = True
        self._pool.close()
        self._follower.close()
        return True
