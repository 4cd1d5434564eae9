"""The lock of a PostgreSQL journal's exclusive writer. Blocking.

An exclusive writer (``eventjobs journal copy``, the contract tests; never a
server, which is a node: :mod:`.pg_node`) holds a session-level advisory
lock on the journal's schema for as long as it is open, on a connection of
its own; a second one is refused with a message naming the first
(:class:`~eventjobs.errors.JournalInUse`).

The lock is the session's: a database restart or a killed connection drops
it, and another writer may take the journal meanwhile. So every append
checks, in the statement that moves the head, that the lock's session still
holds it (:meth:`JournalLock.guard`); when it does not, the writer takes the
lock again (:meth:`JournalLock.retake_if_lost`) or learns that another
writer has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import JournalInUse
from .pg_connect import connect
from .pg_schema import LOCK_CLASS
from .pg_url import PostgresLocation

if TYPE_CHECKING:
    import psycopg

#: True while backend %s holds the lock of class %s on schema %s.
HOLDS_LOCK = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND pid = %s AND classid::bigint = %s AND objid::bigint = (hashtext(%s)::bigint & 4294967295) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class JournalLock:
    """The journal's lock, held by the session of *conn* (autocommit, never
    pooled). Take it with :meth:`take`."""

    def __init__(self, location: PostgresLocation, conn: psycopg.Connection) -> None:
        self.location = location
        self._conn = conn
        #: The backend that holds the lock (each append checks it still does).
        self.pid: int = conn.info.backend_pid

    @classmethod
    def take(cls, location: PostgresLocation, conn: psycopg.Connection) -> JournalLock:
        """Hold the lock on *conn*, which the lock then owns (and closes).

        Raises:
            JournalInUse: another session holds it; names that session's process.
        """
        take_journal_lock(conn, location)
        return cls(location, conn)

    @property
    def connection(self) -> psycopg.Connection:
        """The lock's own connection (for queries at open, before any pool)."""
        return self._conn

    def guard(self) -> tuple[str, tuple[object, ...]]:
        """A condition true only while this lock is held, and its parameters,
        to add to an append's compare and set (no round trip more per batch)."""
        return f"EXISTS ({HOLDS_LOCK})", (self.pid, LOCK_CLASS, self.location.schema)

    def retake_if_lost(self, conn: psycopg.Connection) -> None:
        """After a failed append: hold the lock again (on a new connection)
        if the database dropped it. *conn* is any other connection.

        Raises:
            JournalInUse: another writer took the journal meanwhile.
        """
        held = conn.execute(
            HOLDS_LOCK, (self.pid, LOCK_CLASS, self.location.schema)
        ).fetchone()
        if held is not None:
            return
        self._conn.close()  # its session is gone, or no longer holds the lock
        fresh = connect(self.location, autocommit=True)
        try:
            take_journal_lock(fresh, self.location, lost=True)
        except BaseException:
            fresh.close()
            raise
        self._conn = fresh
        self.pid = fresh.info.backend_pid

    def release(self) -> None:
        """Unlock and close the lock's connection. Never raises."""
        # Unlock before closing: the server ends a closed session's backend
        # (and with it the lock) only a moment after the client has
        # returned, and a restart on the journal must not race it.
        try:
            self._conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                (LOCK_CLASS, self.location.schema),
            )
        except Exception:  # the connection is gone, and the lock with it
            pass
        finally:
            self._conn.close()


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
