"""Connections to a PostgreSQL journal: opening them, explaining failures, pooling.

psycopg's async mode needs asyncio, so eventjobs uses its sync connections
from trio worker threads. :class:`Pool` keeps a few open connections; the
number of threads using them at once is bounded by a ``trio.CapacityLimiter``
(async callers) and by the pool size itself (blocking callers wait for a
free connection).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

import trio

from ..errors import ConfigError, JournalInUse, JournalUnavailable
from .pg_url import PostgresLocation

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

#: Longest a connection attempt may take before it is reported as failed.
CONNECT_TIMEOUT_SECONDS = 10


def import_psycopg() -> ModuleType:
    """The psycopg module, or a ConfigError saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "a postgresql:// journal needs psycopg 3, which is not installed; "
            "install it with: pip install 'eventjobs[postgres]'"
        ) from None
    return psycopg


def connect(
    location: PostgresLocation,
    *,
    autocommit: bool = False,
    timeout: int = CONNECT_TIMEOUT_SECONDS,
) -> psycopg.Connection:
    """A new connection to *location*, given up after *timeout* seconds
    (unless the URL or ``PGCONNECT_TIMEOUT`` says otherwise). Blocking.

    Its ``application_name`` says which eventjobs process holds it, so that
    a refused second exclusive writer can name the first (``pg_stat_activity``).

    Raises:
        ConfigError: one sentence naming the redacted URL, what failed and
            how to fix it (bad URL, server down, wrong credentials, missing
            database, ...).
    """
    psycopg = import_psycopg()
    options: dict[str, object] = {"application_name": application_name()}
    if (
        "connect_timeout=" not in location.conninfo
        and "PGCONNECT_TIMEOUT" not in os.environ
    ):
        # libpq's default is to wait forever.
        options["connect_timeout"] = timeout
    try:
        return psycopg.connect(location.conninfo, autocommit=autocommit, **options)
    except psycopg.ProgrammingError as error:
        # libpq could not parse the connection string.
        raise ConfigError(
            f"the PostgreSQL URL {location.redacted!r} is not valid ({_first_line(error)}); "
            "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME"
        ) from None
    except psycopg.Error as error:
        raise ConfigError(explain_connect_error(location, str(error))) from None


@contextlib.contextmanager
def unavailable(location: PostgresLocation, doing: str) -> Iterator[None]:
    """Turn a lost or failing database (psycopg errors, a failed reconnect)
    into JournalUnavailable, "*doing* the PostgreSQL journal ... failed":
    the server answers 503 and retries. JournalInUse passes unchanged (this
    writer must stop writing, not retry)."""
    psycopg = import_psycopg()
    try:
        yield
    except JournalInUse:
        raise
    except (psycopg.Error, ConfigError) as error:
        text = str(error).strip()
        raise JournalUnavailable(
            f"{doing} the PostgreSQL journal {location} failed: "
            f"{text.splitlines()[0] if text else type(error).__name__}"
        ) from error


def application_name() -> str:
    return f"eventjobs pid {os.getpid()} on {socket.gethostname()}"[:63]


def explain_connect_error(location: PostgresLocation, message: str) -> str:
    """The one-line error for libpq's *message*, with a hint by cause."""
    lowered = message.lower()
    message = _first_line(message)
    if "does not exist" in lowered and "database" in lowered:
        hint = "create the database (createdb NAME, or CREATE DATABASE NAME) or fix the URL"
    elif "password" in lowered or "authentication failed" in lowered:
        hint = (
            "check the user and password in the URL (or PGPASSWORD, ~/.pgpass) and "
            "the server's pg_hba.conf"
        )
    elif "role" in lowered and "does not exist" in lowered:
        hint = "create that user (createuser NAME) or put an existing one in the URL"
    elif "refused" in lowered or "no such file" in lowered:
        hint = "is PostgreSQL running there? check the host and port in the URL"
    elif "resolve host" in lowered or "could not translate" in lowered:
        hint = "the host name does not resolve; check the host in the URL"
    elif "timeout" in lowered:
        hint = "the server did not answer in time; check the host, port and firewall"
    else:
        hint = "check the URL and that the server accepts this user"
    return f"cannot connect to the PostgreSQL journal {location.redacted!r}: {message}; {hint}"


def _first_line(error: BaseException | str) -> str:
    """libpq's first line, without its "connection failed:" preamble."""
    text = str(error).strip() or type(error).__name__
    line = text.splitlines()[0].strip()
    line = line.removeprefix("connection failed: ")
    return " ".join(line.split())  # "FATAL:  x" -> "FATAL: x"


class Pool:
    """At most *size* open connections to one journal, shared by threads.

    Blocking callers take one with :meth:`connection`; async callers run a
    function on one in a worker thread with :meth:`run`. A connection whose
    use raised an error is closed rather than reused (its state is unknown);
    one that lost its server takes the idle ones with it (they lost it too),
    so after a database restart the pool reconnects at its next use.
    """

    def __init__(self, location: PostgresLocation, size: int = 4) -> None:
        self.location = location
        self.size = size
        self._idle: list[psycopg.Connection] = []
        self._free = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._closed = False
        #: Bounds the worker threads async callers occupy at once.
        self.limiter = trio.CapacityLimiter(size)

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """Borrow a connection (a new one if none is idle). Blocking.

        The transaction state is the borrower's to end: it is rolled back
        on return if the borrower left one open.
        """
        self._free.acquire()
        try:
            with self._lock:
                if self._closed:
                    raise JournalUnavailable(f"the journal {self.location} is closed")
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                # Autocommit: a lone query holds no transaction open, and
                # every ``conn.transaction()`` block is a real BEGIN/COMMIT
                # (never a savepoint inside a transaction left implicit).
                conn = connect(self.location, autocommit=True)
            try:
                yield conn
            except Exception:
                # Its state is unknown (a failed statement, a lost server).
                lost = conn.broken
                conn.close()
                if lost:
                    # The server went away (a restart, a failover): the idle
                    # connections went with it. Dropped now, so the next uses
                    # connect afresh instead of each failing on a dead one.
                    self._drop_idle()
                raise
            finally:
                # Also on GeneratorExit: a reader stopped early (a limit
                # reached) leaves a good connection behind.
                self._give_back(conn)
        finally:
            self._free.release()

    def _give_back(self, conn: psycopg.Connection) -> None:
        if not conn.closed and conn.info.transaction_status != 0:  # not IDLE
            try:
                conn.rollback()
            except Exception:
                conn.close()
        with self._lock:
            if self._closed or conn.closed:
                conn.close()
            else:
                self._idle.append(conn)

    async def run(self, function: Callable[[psycopg.Connection], T]) -> T:
        """``function(connection)`` in a worker thread.

        Cancellation: the thread is not abandoned; a transaction under way
        is committed or rolled back before ``Cancelled`` is raised.
        """

        def call() -> T:
            with self.connection() as conn:
                return function(conn)

        return await trio.to_thread.run_sync(call, limiter=self.limiter)

    def _drop_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def close(self) -> None:
        """Close the idle connections; borrowed ones close when returned."""
        with self._lock:
            self._closed = True
        self._drop_idle()
