"""The PostgreSQL journal: the file journal's sealed lines, one row per record.

Selected with ``--journal postgresql://USER@HOST/DATABASE?schema=NAME`` (see
:mod:`eventjobs.journal.pg_url`); the tables are created on first use and
their schema version is checked on every start (:mod:`.pg_schema`).

Each row of ``records`` holds the record's line exactly as the file format
writes it (:func:`eventjobs.journal.lines.encode_record`: sealed by its own
hash, chained by ``prev``), so reading verifies the same hash chain and the
audit tools read both backends alike. ``seq``, ``job_id``, ``type`` and
``time`` columns repeat parts of the line for queries.

Appends: one transaction per batch (group commit). It first moves the
one-row ``head`` table from the head this journal knows to the batch's last
record (compare and set, under the row's lock), then copies the rows in and
sends ``NOTIFY`` with the new head. The row lock serialises appends, so
batches commit in sequence order and a reader that saw seq N never later
finds an earlier committed record it missed; and a batch that does not
continue the head in the database (another writer got there first) is
refused with JournalConflict, nothing written.

Two kinds of writer. A server is a *node*, one among any number on the
journal (:meth:`open` with ``exclusive=False``): it joins the ``nodes``
table and appends with :meth:`append_judged`, where the journal referees
every event against the job's state (:mod:`.pg_cluster`); nodes follow
each other through :meth:`wait_for_head` and :meth:`read_followed`.

An *exclusive* writer (``eventjobs journal copy``, the contract tests)
appends with :meth:`append` under a session-level advisory lock on the
schema, held while the journal is open; a second one is refused with a
message naming the first. The lock is the session's: a database restart or
a killed connection drops it, and another writer may take the journal
meanwhile. So every append checks, in its compare and set, that the lock's
session still holds it; when it does not, the append fails
(JournalUnavailable) and the retry takes the lock again, or raises
JournalInUse when another writer holds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ..codec import type_name
from ..errors import ConfigError, JournalConflict, JournalCorrupt, JournalInUse, JournalUnavailable
from ..events import Event
from ._protocol import Recorded
from .lines import GENESIS_HASH, PG_REPAIR_HINT, encode_record, parse_record
from .memory import check_continues
from .pg_cluster import (
    Judged,
    TakenJob,
    append_judged,
    register_node,
    release_node,
    renew_lease,
    take_over,
)
from .pg_connect import Pool, connect, import_psycopg
from .pg_schema import LOCK_CLASS, ensure_schema
from .pg_snapshots import newest_snapshot, snapshot_rows, store_snapshot
from .pg_url import PostgresLocation, parse_postgres_url

if TYPE_CHECKING:
    import psycopg

#: Records fetched per round trip while reading (server-side cursor).
READ_CHUNK = 2000

#: How often :meth:`PostgresJournal.wait_for_head` looks at the head when no
#: notification comes (a notification can be lost with a dropped connection).
POLL_SECONDS = 1.0


class PostgresJournal:
    """A journal in a PostgreSQL schema. Create it with :meth:`open`."""

    reads_block = True

    def __init__(
        self,
        location: PostgresLocation,
        lock_conn: psycopg.Connection,
        head: int,
        last_hash: str,
        pool_size: int = 4,
        *,
        exclusive: bool = True,
    ) -> None:
        self.location = location
        self._schema = location.schema
        #: The connection that holds the journal's lock (an exclusive
        #: writer), or that renews the node's lease (a node): never pooled.
        self._lock_conn = lock_conn
        #: The backend that holds the lock (each append checks it still does).
        self._lock_pid: int = lock_conn.info.backend_pid
        self._head = head
        self._last_hash = last_hash
        self._pool = Pool(location, pool_size)
        self._listener: psycopg.Connection | None = None
        #: Holds the journal's lock (see :meth:`open`).
        self.exclusive = exclusive
        #: This server's node id once it has joined (:meth:`join`), else None.
        self.node: int | None = None
        self._lease = 0.0
        self._listening = trio.Lock()
        self._closed = False
        #: Set when an append failed: it may or may not have committed, and
        #: the database may have restarted (dropping the lock).
        self._uncertain = False

    def __repr__(self) -> str:
        return f"<PostgresJournal {self.location.redacted!r} head={self._head}>"

    @property
    def channel(self) -> str:
        """The NOTIFY channel that carries this journal's new heads."""
        return f"eventjobs_{self._schema}"

    @classmethod
    def open(
        cls, url: str | PostgresLocation, *, pool_size: int = 4, exclusive: bool = True
    ) -> PostgresJournal:
        """Open (creating its tables if needed) the journal *url* names.

        *exclusive*: hold the journal's lock, for a writer that appends with
        :meth:`append` (a copy, a test); a server, one node among any
        number, passes False and appends with :meth:`append_judged`.

        Blocking: call it before serving or from a worker thread.

        Raises:
            ConfigError: the URL is bad, the server cannot be reached or
                refuses the login, the schema is of another version, or
                (*exclusive*) another writer holds the journal.
            JournalCorrupt: the last record does not match the head.
        """
        location = url if isinstance(url, PostgresLocation) else parse_postgres_url(url)
        lock_conn = connect(location, autocommit=True)
        try:
            ensure_schema(lock_conn, location)
            if exclusive:
                take_journal_lock(lock_conn, location)
            head, last_hash = read_head(lock_conn, location)
        except BaseException:
            lock_conn.close()
            raise
        return cls(location, lock_conn, head, last_hash, pool_size, exclusive=exclusive)

    @property
    def head(self) -> int:
        return self._head

    @property
    def last_hash(self) -> str:
        """The hash of the last record (the genesis hash when empty)."""
        return self._last_hash

    # -- appending -------------------------------------------------------------

    async def append(self, records: Sequence[Recorded]) -> list[int]:
        """Append *records* in one transaction; their locations are their seqs.

        Cancellation: the transaction is finished (committed or rolled back)
        in its thread before ``Cancelled`` is raised.
        """
        if self._uncertain:
            await self._run(self._resync, "reading the head of")
        check_continues(self._head, records)
        if not records:
            await trio.lowlevel.checkpoint()
            return []
        rows = []
        prev = self._last_hash
        for record in records:
            line, prev = encode_record(record, prev)
            event = record.event
            rows.append((record.seq, event.job_id, type_name(event), event.time, line.decode("ascii")))
        write = partial(self._write, rows, self._head, self._last_hash, records[-1].seq, prev)
        try:
            await self._run(write, "appending to")
        except JournalUnavailable:
            self._uncertain = True
            raise
        self._head, self._last_hash = records[-1].seq, prev
        return [record.seq for record in records]

    def _write(
        self, rows: list[tuple[Any, ...]], head: int, head_hash: str, new_head: int, new_hash: str,
        conn: psycopg.Connection,
    ) -> None:
        schema = self._schema
        with conn.transaction():
            # Only while this server's lock session still holds the lock (in
            # the same statement: no round trip more per batch).
            moved = conn.execute(
                f"UPDATE {schema}.head SET seq = %s, hash = %s WHERE seq = %s AND hash = %s "
                f"AND EXISTS ({HOLDS_LOCK})",
                (new_head, new_hash, head, head_hash, self._lock_pid, LOCK_CLASS, schema),
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
            with conn.cursor() as cursor:
                with cursor.copy(
                    f"COPY {schema}.records (seq, job_id, type, time, line) FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            # Delivered at commit, to every listener: a follower's wake-up call.
            conn.execute("SELECT pg_notify(%s, %s)", (self.channel, str(new_head)))

    def _resync(self, conn: psycopg.Connection) -> None:
        """After a failed append: hold the lock again if the database dropped
        it, then take the head from the database (the failed batch may have
        committed before its reply was lost; the writer's rebuild of the views
        reads the records the same way, so both agree).

        Raises:
            JournalInUse: another server took the journal meanwhile.
        """
        held = conn.execute(HOLDS_LOCK, (self._lock_pid, LOCK_CLASS, self._schema)).fetchone()
        if held is None:
            self._lock_conn.close()  # its session is gone, or no longer holds the lock
            lock_conn = connect(self.location, autocommit=True)
            try:
                take_journal_lock(lock_conn, self.location, lost=True)
            except BaseException:
                lock_conn.close()
                raise
            self._lock_conn = lock_conn
            self._lock_pid = lock_conn.info.backend_pid
        self._head, self._last_hash = read_head(conn, self.location)
        self._uncertain = False

    async def _run(self, function: Any, doing: str) -> Any:
        """*function(conn)* on a pooled connection; database failures become
        JournalUnavailable (a conflict stays a conflict)."""
        if self._closed:
            raise JournalUnavailable(f"the journal {self.location} is closed")
        with self._unavailable(doing):
            return await self._pool.run(function)

    @contextlib.contextmanager
    def _unavailable(self, doing: str) -> Iterator[None]:
        """Turn a lost or failing database (psycopg errors, a failed
        reconnect) into JournalUnavailable: the server answers 503 and retries."""
        psycopg = import_psycopg()
        try:
            yield
        except JournalInUse:
            raise  # not a passing failure: this server must stop writing
        except (psycopg.Error, ConfigError) as error:
            text = str(error).strip()
            raise JournalUnavailable(
                f"{doing} the PostgreSQL journal {self.location} failed: "
                f"{text.splitlines()[0] if text else type(error).__name__}"
            ) from error

    # -- several nodes (pg_cluster.py) --------------------------------------------

    async def join(self, name: str, lease: float) -> int:
        """Register this server as a node with a lease of *lease* seconds;
        return its node id (also kept as :attr:`node`)."""
        self.node = await self._run(
            lambda conn: register_node(conn, self._schema, name, lease), "joining"
        )
        self._lease = lease
        return self.node

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
        judged: Judged = await self._run(
            lambda conn: append_judged(conn, location, channel, node, events), "appending to"
        )
        self.advance_to(judged.head, judged.head_hash)
        return judged

    async def renew_lease(self) -> bool:
        """Extend this node's lease; False once it was fenced.

        On the journal's own connection (a node holds no lock on it), not a
        pooled one: reads that hold every pooled connection for long (whole
        journal histories, on a long journal) must not keep a live node from
        renewing, or another node fences it and it stops for good."""
        assert self.node is not None
        if self._closed:
            raise JournalUnavailable(f"the journal {self.location} is closed")
        node, lease = self.node, self._lease

        def renew() -> bool:
            if self._lock_conn.closed or self._lock_conn.broken:
                self._lock_conn = connect(self.location, autocommit=True)
            try:
                return renew_lease(self._lock_conn, self._schema, node, lease)
            except Exception:
                self._lock_conn.close()  # its state is unknown: a new one next time
                raise

        with self._unavailable("renewing the lease in"):
            renewed: bool = await trio.to_thread.run_sync(renew)
        return renewed

    async def take_over(self) -> list[TakenJob]:
        """Fence the nodes whose lease expired and take the jobs no live node
        holds (see :func:`~eventjobs.journal.pg_cluster.take_over`)."""
        assert self.node is not None
        node, location = self.node, self.location
        taken: list[TakenJob] = await self._run(
            lambda conn: take_over(conn, location, node), "taking over jobs in"
        )
        return taken

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

        jobs: list[tuple[int, str]] = await self._run(held, "reading the jobs held in")
        return jobs

    async def leave(self) -> None:
        """Give up this node's lease (a clean stop): its queued jobs go to
        the other nodes at once."""
        if self.node is not None:
            node = self.node
            await self._run(lambda conn: release_node(conn, self._schema, node), "leaving")

    def advance_to(self, seq: int, digest: str | None = None) -> None:
        """Note that the journal reaches *seq* (with hash *digest*, when
        known): for a node, whose head moves with the other nodes' appends."""
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
            rows = conn.execute(
                f"SELECT seq, line, node_id FROM {self._schema}.records "
                "WHERE seq > %s AND seq <= %s ORDER BY seq",
                (after, upto),
            ).fetchall()
        followed = []
        prev: str | None = None
        expected = after + 1
        for seq, line, node in rows:
            record, prev = parse_row(line, row_name(self.location, seq), expected, prev)
            followed.append((attrs.evolve(record, location=seq), int(node)))
            expected += 1
        return followed

    async def database_head(self) -> int:
        """The head in the database now (one query)."""
        head: int = await self._run(self._database_head, "reading the head of")
        return head

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
        with self._unavailable("reading a job's records of"), self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT seq, line FROM {self._schema}.records WHERE job_id = %s "
                "ORDER BY seq",
                (job_id,),
            ).fetchall()
        return [parse_row(line, row_name(self.location, seq), seq, None)[0] for seq, line in rows]

    def read_at(self, location: int) -> Recorded:
        """The record with seq *location*, checked against its own hash. Blocking."""
        with self._unavailable("reading a record of"), self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT line FROM {self._schema}.records WHERE seq = %s",
                (location,),
            ).fetchone()
        where = row_name(self.location, location)
        if row is None:
            raise JournalCorrupt(f"{where}: there is no such record. {PG_REPAIR_HINT}")
        return parse_row(row[0], where, location, None)[0]

    # -- snapshots -------------------------------------------------------------

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

        *min_gap*: for nodes sharing the journal, store it only if the
        newest snapshot (any node's) is at least this many records older;
        writers are serialised, so the nodes write one snapshot per interval
        between them, not one each. Returns whether it was stored.

        Raises:
            ValueError: *position* is past the head.
            JournalUnavailable: the database failed; no new snapshot is kept.
        """
        if position > self._head:
            raise ValueError(f"a snapshot cannot be ahead of the head ({self._head}): {position}")
        head, last_hash, schema = self._head, self._last_hash, self._schema

        def write(conn: psycopg.Connection) -> bool:
            known = position == head and last_hash  # a node may know only the seq
            record_hash = last_hash if known else self._hash_of(conn, position)
            return store_snapshot(
                conn, schema, position, record_hash, header, jobs, min_gap=min_gap
            )

        stored: bool = await self._run(write, "saving a snapshot in")
        return stored

    def load_snapshot(self) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The newest snapshot ``(position, header, jobs)``, checked against
        the record it follows. Blocking; *jobs* reads its rows a chunk at a
        time on a pooled connection of its own while iterated.

        Raises:
            JournalCorrupt: it is damaged or does not match the records (the
                jobs iterator raises it for damage found while iterated).
        """
        with self._unavailable("reading the snapshot of"), self._pool.connection() as conn:
            found = newest_snapshot(conn, self._schema, str(self.location), self._snapshot_lines)
            if found is None:
                return None
            position = found.position
            if position > self._head or self._hash_of(conn, position) != found.record_hash:
                raise JournalCorrupt(
                    f"{self.location}, table {self._schema}.snapshots: the snapshot at "
                    f"sequence number {position} does not match the journal's record there; "
                    f"delete its rows to start from the records alone. {PG_REPAIR_HINT}"
                )
        return position, found.header, found.jobs()

    @contextlib.contextmanager
    def _snapshot_lines(self, position: int) -> Iterator[Iterator[bytes]]:
        with self._unavailable("reading the snapshot of"), self._pool.connection() as conn:
            with snapshot_rows(conn, self._schema, position) as lines:
                yield lines

    def _hash_of(self, conn: psycopg.Connection, seq: int) -> str:
        """The hash of record *seq* (its own seal checked); "" if there is none."""
        if seq == 0:
            return GENESIS_HASH
        row = conn.execute(
            f"SELECT line FROM {self._schema}.records WHERE seq = %s", (seq,)
        ).fetchone()
        if row is None:
            return ""
        return parse_row(row[0], row_name(self.location, seq), seq, None)[1]

    # -- following -------------------------------------------------------------

    async def wait_for_head(
        self, after: int, *, poll_seconds: float = POLL_SECONDS, look_first: bool = True
    ) -> int:
        """Wait until the head in the database is past *after*; return it.

        Woken by the ``NOTIFY`` each append sends (waiting on the listening
        connection's socket, no thread held), and looks at the head table at
        least every *poll_seconds* in case a notification was lost.
        Sees appends of any process on the journal, not just this one's.

        *look_first*: read the head before waiting. A caller that calls
        again right after a return may pass False: the notifications that
        came meanwhile wait on the listening connection, so none is missed,
        and a busy journal is spared a query per wake-up.

        Raises:
            JournalUnavailable: the database failed (call again to retry).

        Cancellation: safe at any point; nothing is left half done.
        """
        async with self._listening:
            # A new listening connection missed what came before it listened.
            look = look_first or self._listener is None or self._listener.closed
            listener = await self._listen()
            while True:
                if look:
                    head = await self._run(self._database_head, "reading the head of")
                    if head > after:
                        return head
                look = True  # unless a notification (below) wakes us first
                with trio.move_on_after(poll_seconds):
                    await trio.lowlevel.wait_readable(listener.fileno())
                    look = False
                try:
                    with self._unavailable("listening to"):
                        heads = [int(n.payload) for n in listener.notifies(timeout=0)]
                except JournalUnavailable:
                    listener.close()  # the next call listens on a new connection
                    raise
                if heads and max(heads) > after:
                    return max(heads)

    async def _listen(self) -> psycopg.Connection:
        if self._listener is None or self._listener.closed:

            def listen() -> psycopg.Connection:
                conn = connect(self.location, autocommit=True)
                conn.execute(f"LISTEN {self.channel}")
                return conn

            with self._unavailable("listening to"):
                self._listener = await trio.to_thread.run_sync(listen)
        return self._listener

    def _database_head(self, conn: psycopg.Connection) -> int:
        row = conn.execute(f"SELECT seq FROM {self._schema}.head").fetchone()
        return int(row[0]) if row else 0

    async def aclose(self) -> None:
        """Close every connection (releasing the journal's lock). Idempotent."""
        if not self._closed:
            self._closed = True
            self._pool.close()
            if self._listener is not None:
                self._listener.close()
            # Unlock before closing: the server ends a closed session's
            # backend (and with it the lock) only a moment after the client
            # has returned, and a restart on the journal must not race it.
            await trio.to_thread.run_sync(self._unlock)
        await trio.lowlevel.checkpoint()

    def _unlock(self) -> None:
        try:
            self._lock_conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_CLASS, self._schema)
            )
        except Exception:  # the connection is gone, and the lock with it
            pass
        finally:
            self._lock_conn.close()


def parse_row(line: str, where: str, expected_seq: int, prev: str | None) -> tuple[Recorded, str]:
    """A row's line as :func:`~eventjobs.journal.lines.parse_record` reads it,
    damage reported with what to do about a PostgreSQL journal."""
    return parse_record(line.encode("utf-8"), where, expected_seq, prev, hint=PG_REPAIR_HINT)


def row_name(location: PostgresLocation, seq: int) -> str:
    """How messages name the row of record *seq*."""
    return f"{location}, table {location.schema}.records, row seq={seq}"


def read_rows(
    conn: psycopg.Connection, location: PostgresLocation, after: int = 0
) -> Iterator[Recorded]:
    """The verified records of the journal after *after* (see :func:`read_hashed`)."""
    for record, _digest in read_hashed(conn, location, after):
        yield record


def read_hashed(
    conn: psycopg.Connection, location: PostgresLocation, after: int = 0
) -> Iterator[tuple[Recorded, str]]:
    """The verified records after *after* with their hashes, streamed in chunks. Blocking.

    The chain is checked from record *after* (its own seal verified) on; with
    ``after=0`` from the genesis hash, so the whole journal is proven.

    Raises:
        JournalCorrupt: naming the row's seq and what is wrong.
    """
    schema = location.schema
    prev: str | None = GENESIS_HASH
    if after > 0:
        row = conn.execute(
            f"SELECT line FROM {schema}.records WHERE seq = %s", (after,)
        ).fetchone()
        # Missing: past the end (nothing follows), or a gap that the first
        # record's seq check below reports.
        prev = None if row is None else parse_row(row[0], row_name(location, after), after, None)[1]
    expected = after + 1
    with conn.transaction():
        with conn.cursor(name="eventjobs_read") as cursor:
            cursor.itersize = READ_CHUNK
            cursor.execute(
                f"SELECT seq, line FROM {schema}.records WHERE seq > %s ORDER BY seq",
                (after,),
            )
            for seq, line in cursor:
                record, prev = parse_row(line, row_name(location, seq), expected, prev)
                expected += 1
                yield record, prev


#: True while backend %s holds the lock of class %s on schema %s.
HOLDS_LOCK = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND pid = %s AND classid::bigint = %s AND objid::bigint = (hashtext(%s)::bigint & 4294967295) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def take_journal_lock(
    conn: psycopg.Connection, location: PostgresLocation, *, lost: bool = False
) -> None:
    """Hold the journal's session-level advisory lock on *conn* (autocommit).

    *lost*: this server held it before and lost it (the message says so).

    Raises:
        JournalInUse: another session holds it; names that session's process.
    """
    got = conn.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, location.schema)
    ).fetchone()
    if got and got[0]:
        return
    holder = conn.execute(
        """SELECT a.application_name, host(a.client_addr), a.backend_start
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
             AND l.classid::bigint = %s AND l.objid::bigint = (hashtext(%s)::bigint & 4294967295)
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (LOCK_CLASS, location.schema),
    ).fetchone()
    who = "another eventjobs server"
    if holder is not None:
        name, address, since = holder
        who = f"another eventjobs server ({name or 'unnamed'}"
        who += f", connected from {address}" if address else ", connected locally"
        who += f" since {since:%Y-%m-%d %H:%M:%S %Z})" if since else ")"
    if lost:
        raise JournalInUse(
            f"the PostgreSQL journal {location} was taken by {who} while this writer's "
            "connection to the database was cut, so it stops writing to it. Only one "
            "exclusive writer (such as 'eventjobs journal copy') may hold a journal: keep one"
        )
    raise JournalInUse(
        f"the PostgreSQL journal {location} is in use by {who} as its exclusive writer "
        "(such as 'eventjobs journal copy'); wait until it is done, or write to another "
        "journal (another ?schema=NAME)"
    )


def read_head(conn: psycopg.Connection, location: PostgresLocation) -> tuple[int, str]:
    """The head's seq and hash, checked against the last record. Blocking.

    Raises:
        JournalCorrupt: the head table and the records disagree, or the last
            record does not match its hash.
    """
    schema = location.schema
    head = conn.execute(f"SELECT seq, hash FROM {schema}.head").fetchone()
    last = conn.execute(
        f"SELECT seq, line FROM {schema}.records ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if head is None:
        raise JournalCorrupt(
            f"{location}: the table {schema}.head has no row (it was emptied by hand). "
            f"{PG_REPAIR_HINT}"
        )
    seq, digest = int(head[0]), head[1]
    last_seq = 0 if last is None else int(last[0])
    if last_seq != seq:
        raise JournalCorrupt(
            f"{location}: the table {schema}.head says the last record is {seq}, but the "
            f"records end at {last_seq} (rows were added or removed by hand). {PG_REPAIR_HINT}"
        )
    if last is not None:
        _record, actual = parse_row(last[1], row_name(location, seq), seq, None)
        if actual != digest:
            raise JournalCorrupt(
                f"{row_name(location, seq)}: the last record is not the one the head "
                f"table recorded (it was replaced). {PG_REPAIR_HINT}"
            )
    return seq, digest

