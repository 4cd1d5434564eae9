"""The PostgreSQL journal of a node: one of any number of servers sharing a journal.

Every server on a ``postgresql://`` journal is a node (docs/multi-node.md).
It joins the ``nodes`` table with a lease (:meth:`PostgresNodeJournal.join`)
and appends with :meth:`~PostgresNodeJournal.append_judged`, where the
journal referees every event against its job's state in the append's
transaction (:mod:`.pg_cluster`); it holds no lock, and follows the other
nodes' appends through :meth:`~PostgresNodeJournal.wait_for_head` and
:meth:`~PostgresNodeJournal.read_followed`. It fulfils
:class:`~eventjobs.journal.NodeJournal`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import trio

from ..errors import JournalUnavailable
from ..events import Event
from ._protocol import Judged, Recorded, TakenJob
from .pg_base import PostgresJournalBase
from .pg_cluster import (
    append_judged,
    lost_lease,
    register_node,
    release_node,
    renew_lease,
    take_over,
)
from .pg_connect import connect
from .pg_rows import parse_followed, read_head, select_followed
from .pg_schema import ensure_schema
from .pg_url import PostgresLocation, parse_postgres_url

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresNodeJournal"]


class PostgresNodeJournal(PostgresJournalBase):
    """A node's journal in a PostgreSQL schema. Create it with :meth:`open`,
    then :meth:`join` before appending."""

    def __init__(
        self,
        location: PostgresLocation,
        lease_conn: psycopg.Connection,
        head: int,
        last_hash: str,
        pool_size: int = 4,
    ) -> None:
        super().__init__(location, head, last_hash, pool_size)
        #: Renews the lease, and nothing else: never pooled (see :meth:`renew_lease`).
        self._lease_conn = lease_conn
        #: This server's node id once it has joined (:meth:`join`), else None.
        self.node: int | None = None
        self._lease = 0.0
        self._key_window = 86400.0

    @classmethod
    def open(
        cls, url: str | PostgresLocation, *, pool_size: int = 4
    ) -> PostgresNodeJournal:
        """Open (creating its tables if needed) the journal *url* names, as
        one node among any number (not joined yet).

        Blocking: call it before serving or from a worker thread.

        Raises:
            ConfigError: the URL is bad, the server cannot be reached or
                refuses the login, or the schema is of another version.
            JournalCorrupt: the last record does not match the head.
        """
        location = url if isinstance(url, PostgresLocation) else parse_postgres_url(url)
        conn = connect(location, autocommit=True)
        try:
            ensure_schema(conn, location)
            head, last_hash = read_head(conn, location)
        except BaseException:
            conn.close()
            raise
        return cls(location, conn, head, last_hash, pool_size)

    # -- membership (pg_cluster.py) ----------------------------------------------

    async def join(
        self, name: str, lease: float, *, key_window: float = 86400.0
    ) -> int:
        """Register this server as a node with a lease of *lease* seconds;
        return its node id (also kept as :attr:`node`). *key_window*: see
        :meth:`NodeJournal.join`."""
        schema = self._schema
        node = await self._run(
            lambda conn: register_node(conn, schema, name, lease), "joining"
        )
        self.node, self._lease, self._key_window = node, lease, key_window
        return node

    async def renew_lease(self) -> float | None:
        """Extend this node's lease; return the database's clock then (unix
        seconds), or None once it was fenced.

        On the journal's own connection, not a pooled one: reads that hold
        every pooled connection for long (whole journal histories, on a long
        journal) must not keep a live node from renewing, or another node
        fences it and it stops for good."""
        assert self.node is not None
        if self._closed:
            raise JournalUnavailable(f"the journal {self.location} is closed")
        node, lease = self.node, self._lease

        def renew() -> float | None:
            if self._lease_conn.closed or self._lease_conn.broken:
                # A try that hangs must not outlast the lease (libpq's
                # shortest timeout is 2 s).
                timeout = max(2, math.ceil(lease / 4))
                self._lease_conn = connect(
                    self.location, autocommit=True, timeout=timeout
                )
            try:
                return renew_lease(self._lease_conn, self._schema, node, lease)
            except Exception:
                self._lease_conn.close()  # its state is unknown: a new one next time
                raise

        with self._unavailable("renewing the lease in"):
            return await trio.to_thread.run_sync(renew)

    async def lost_lease(self) -> str:
        """Why this node may not act any more, once :meth:`renew_lease`
        returned None: one sentence, from what the ``nodes`` table says
        (fenced by another node that took its jobs, or only run out)."""
        assert self.node is not None
        node, schema = self.node, self._schema
        return await self._run(
            lambda conn: lost_lease(conn, schema, node), "reading the nodes of"
        )

    async def take_over(self) -> list[TakenJob]:
        """Fence the nodes whose lease expired and take the jobs no live node
        holds (see :func:`~eventjobs.journal.pg_cluster.take_over`)."""
        assert self.node is not None
        node, location, window = self.node, self.location, self._key_window
        return await self._run(
            lambda conn: take_over(conn, location, node, window), "taking over jobs in"
        )

    async def held(self) -> list[tuple[int, str]]:
        """The unfinished jobs this node holds: (job id, phase), by id."""
        assert self.node is not None
        node, schema = self.node, self._schema

        def held(conn: psycopg.Connection) -> list[tuple[int, str]]:
            rows = conn.execute(
                f"SELECT job_id, phase FROM {schema}.job_state WHERE node_id = %s "
                "AND phase <> 'finished' ORDER BY job_id",
                (node,),
            ).fetchall()
            return [(int(job_id), phase) for job_id, phase in rows]

        return await self._run(held, "reading the jobs held in")

    async def leave(self) -> None:
        """Give up this node's lease (a clean stop): its queued jobs go to
        the other nodes at once. Does nothing before :meth:`join`."""
        if self.node is not None:
            node, schema = self.node, self._schema
            await self._run(lambda conn: release_node(conn, schema, node), "leaving")

    # -- appending and following -------------------------------------------------

    async def append_judged(self, events: Sequence[Event]) -> Judged:
        """Judge and append *events* as this node (see
        :func:`~eventjobs.journal.pg_cluster.append_judged`).

        Raises:
            NodeFenced: this node lost its lease; nothing was written.
            JournalUnavailable: the database failed; whether the batch was
                written is unknown (a retry is judged again, so an event
                already written is rejected, not written twice).

        Cancellation: the transaction is finished in its thread first.
        """
        assert self.node is not None, "append_judged before join"
        node, location, channel = self.node, self.location, self.channel
        window = self._key_window
        judged = await self._run(
            lambda conn: append_judged(conn, location, channel, node, events, window),
            "appending to",
        )
        self.advance_to(judged.head, judged.head_hash)
        return judged

    def advance_to(self, seq: int, digest: str | None = None) -> None:
        """Note that the journal reaches *seq* (with hash *digest*, when
        known): a node's head moves with the other nodes' appends."""
        if seq > self._head:
            self._head = seq
            self._last_hash = digest or ""

    def read_followed(self, after: int, upto: int) -> list[tuple[Recorded, int]]:
        """The records after *after* up to *upto*, each with the node that
        wrote it (0: none), for a node following the journal. Blocking.

        Each record is checked against its own hash and chained to the one
        before it; a record holding a result carries its location.
        """
        with self._unavailable("reading"), self._pool.connection() as conn:
            rows = select_followed(conn, self._schema, after, upto)
        return parse_followed(
            self.location, after, rows
        )  # the connection is free meanwhile

    # -- snapshots and closing ---------------------------------------------------

    async def save_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        *,
        min_gap: int = 0,
    ) -> bool:
        """Durably store a snapshot as of *position* (at most the head),
        consuming *jobs* one at a time in a worker thread (pg_snapshots.py).

        *min_gap*: store it only if the newest snapshot (any node's) is at
        least this many records older; writers are serialised, so the nodes
        write one snapshot per interval between them, not one each. Returns
        whether it was stored.

        Raises:
            ValueError: *position* is past the head.
            JournalUnavailable: the database failed; no new snapshot is kept.
        """
        return await self._store_snapshot(position, header, jobs, min_gap)

    async def aclose(self) -> None:
        """Close every connection (the lease runs out unless :meth:`leave`
        gave it up). Idempotent."""
        if self._close_connections():
            await trio.to_thread.run_sync(self._lease_conn.close)
        await trio.lowlevel.checkpoint()
