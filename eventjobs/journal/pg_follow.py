"""Following a PostgreSQL journal's head: ``LISTEN`` for the ``NOTIFY`` every append sends.

Each append (of any process on the journal) sends ``NOTIFY`` with its new
head on the journal's channel. A :class:`HeadFollower` listens on a
connection of its own and waits on its socket (no thread held), and also
looks at the head table now and then, since a notification can be lost with
a dropped connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from ..errors import JournalUnavailable
from .pg_connect import connect, unavailable
from .pg_url import PostgresLocation

if TYPE_CHECKING:
    import psycopg

#: How often :meth:`HeadFollower.wait_for_head` looks at the head when no
#: notification comes.
POLL_SECONDS = 1.0


def channel_of(location: PostgresLocation) -> str:
    """The NOTIFY channel that carries the journal's new heads."""
    return f"eventjobs_{location.schema}"


class HeadFollower:
    """Waits for the head of the journal at *location* to move.

    *database_head* reads the head in the database now (one query, on a
    pooled connection; it raises JournalUnavailable when that fails).
    """

    def __init__(
        self, location: PostgresLocation, database_head: Callable[[], Awaitable[int]]
    ) -> None:
        self.location = location
        self.channel = channel_of(location)
        self._database_head = database_head
        self._listener: psycopg.Connection | None = None
        self._listening = trio.Lock()

    async def wait_for_head(
        self, after: int, *, poll_seconds: float = POLL_SECONDS, look_first: bool = True
    ) -> int:
        """Wait until the head in the database is past *after*; return it.

        Woken by the ``NOTIFY`` each append sends, and looks at the head
        table at least every *poll_seconds* in case a notification was lost.
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
                    head = await self._database_head()
                    if head > after:
                        return head
                look = True  # unless a notification (below) wakes us first
                with trio.move_on_after(poll_seconds):
                    await trio.lowlevel.wait_readable(listener.fileno())
                    look = False
                try:
                    with unavailable(self.location, "listening to"):
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

            with unavailable(self.location, "listening to"):
                self._listener = await trio.to_thread.run_sync(listen)
        return self._listener

    def close(self) -> None:
        """Close the listening connection (a later wait listens again)."""
        if self._listener is not None:
            self._listener.close()
