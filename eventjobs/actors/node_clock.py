"""A node's clock: the database's time, so that the nodes' clocks never need
to agree.

Every time a node stamps on an event (a job queued, started, finished,
deleted...) and every "now" its retention compares with those times comes
from here. The database's clock is read at each lease renewal (the lease
keeper renews every twentieth of the lease); between two readings the node
adds the time elapsed since the last one as its own clock counts it. So
a node's clock that is wrong by any amount, or set while the server runs,
changes nothing: only its rate counts, and only over the few seconds
between two renewals (by default the node's monotonic clock, which no one
sets).

A reading is taken halfway through the round trip that brought it, so it is
off by at most half that trip (a millisecond or so); readings only ever
move the clock forward, so times on one node never go back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["NodeClock"]


class NodeClock:
    """The database's time now, in unix seconds (call it).

    Args:
        local: the node's own clock, read only for the time between two
            readings of the database's clock (seconds, any origin).
        wall: unix seconds, for the time before the first reading (a node
            stamps no event before it has joined, which reads one).
    """

    def __init__(self, local: Callable[[], float], wall: Callable[[], float]) -> None:
        self._local = local
        self._wall = wall
        #: (the database's time, the local clock then), from the last reading.
        self._anchor: tuple[float, float] | None = None
        #: The latest time told (never go back).
        self._told = float("-inf")

    def __call__(self) -> float:
        if self._anchor is None:
            return self._wall()
        database, local = self._anchor
        now = max(self._told, database + (self._local() - local))
        self._told = now
        return now

    @property
    def measured(self) -> bool:
        """Whether the database's clock has been read yet."""
        return self._anchor is not None

    async def read(
        self, database_clock: Callable[[], Awaitable[float | None]]
    ) -> float | None:
        """Await *database_clock* (a call that returns the database's time,
        as a lease renewal does, or None when it tells no time), and set
        this clock by what it returns; return that.

        Cancellation: nothing is set; the call is cancelled as it allows.
        """
        sent = self._local()
        database = await database_clock()
        if database is not None:
            answered = self._local()
            self._anchor = (database, (sent + answered) / 2)
        return database
