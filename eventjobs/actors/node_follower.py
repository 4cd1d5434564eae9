"""How a node's table follows the journal: the reading half of its writer.

On a node the table changes only by applying the journal's records, in
order, each once: this node's own once its batch has committed (after the
other nodes' records before them), and the other nodes' as the journal
announces them (its ``NOTIFY``) or when a caller asks to catch up.
:class:`TableFollower` is the one place that applies them, under one lock,
so that these paths never apply a record twice or out of order, and it
tells the writer's observers of each record applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from ..errors import IllegalTransition, JournalCorrupt, JournalUnavailable, NodeFenced
from ..journal import NodeJournal
from ..projection import JobTable
from ..records import Recorded
from .writing import Backoff

log = logging.getLogger("eventjobs.writer")

#: Records read per query while catching up.
CATCH_UP_CHUNK = 2000


class TableFollower:
    """Applies *journal*'s records to *table* (see the module docstring).

    *observers* and *applied_observers* are the node writer's lists (see
    :mod:`eventjobs.actors.node_writer`), shared, not copied: what is added
    to them later is called too. *journal* must have joined (it has a node).
    """

    def __init__(
        self,
        journal: NodeJournal,
        table: JobTable,
        observers: list[Callable[[Recorded], None]],
        applied_observers: list[Callable[[Recorded, bool], None]],
    ) -> None:
        self.journal = journal
        self.table = table
        self.node = journal.node
        self.observers = observers
        self.applied_observers = applied_observers
        self._applying = trio.Lock()

    async def catch_up(self, upto: int | None = None) -> None:
        """Apply the journal's records up to *upto* (default: the database's
        head now) to the table.

        Raises:
            JournalUnavailable: the database failed.
        """
        async with self._applying:
            if upto is None:
                upto = await self.journal.database_head()
            await self._apply_until(upto)

    async def follow_until_damaged(
        self, ended: list[NodeFenced | JournalCorrupt], scope: trio.CancelScope
    ) -> None:
        """:meth:`_follow`; on damage, keep the error in *ended* and end
        the node writer's ``run`` (cancel its *scope*)."""
        try:
            await self._follow()
        except JournalCorrupt as error:
            ended.append(error)
            scope.cancel()

    async def _follow(self) -> None:
        """Apply the other nodes' records as the journal announces them."""
        backoff = Backoff()
        look_first = True  # at first, and after a failure: a notification may be lost
        while True:
            try:
                head = await self.journal.wait_for_head(
                    self.table.position, look_first=look_first
                )
                look_first = False
                await self.catch_up(head)
                backoff.reset()
            except JournalUnavailable as error:
                look_first = True
                log.warning(
                    "following the journal failed (again in %.1f s): %s",
                    backoff.seconds,
                    error,
                )
                await backoff.wait()

    async def apply_committed(self, records: list[Recorded]) -> None:
        """Apply this node's committed *records*, after the other nodes'
        records before them. They are in the journal: a failure to read the
        ones before is retried (with the back-off) until it succeeds, so
        that callers are told only once their events are in the table."""
        backoff = Backoff()
        while True:
            try:
                async with self._applying:
                    await self._apply_until(records[0].seq - 1)
                    for record in records:
                        if record.seq > self.table.position:
                            self._apply(record, own=True)
                return
            except JournalUnavailable as error:
                log.warning(
                    "catching up before this node's own records failed (again in %.1f s): %s",
                    backoff.seconds,
                    error,
                )
                await backoff.wait()

    async def _apply_until(self, upto: int) -> None:
        """Read and apply the records after the table's position up to
        *upto* (the caller holds ``_applying``)."""
        journal = self.journal
        while self.table.position < upto:
            after = self.table.position
            rows = await trio.to_thread.run_sync(
                journal.read_followed, after, min(upto, after + CATCH_UP_CHUNK)
            )
            if not rows:
                raise JournalUnavailable(
                    f"the journal {journal.location} ends before sequence number {upto}"
                )
            for record, node in rows:
                self._apply(record, own=node == self.node)
                journal.advance_to(record.seq)

    def _apply(self, record: Recorded, *, own: bool) -> None:
        try:
            self.table.apply(record)
        except IllegalTransition as error:
            # The referee admitted what the projection refuses: a bug, never
            # a reason to stop following. Said loudly; the rest still applies.
            log.critical(
                "record %d does not apply to the views (%s)", record.seq, error
            )
            self.table.position = record.seq
            return
        for applied in self.applied_observers:
            applied(record, own)
        if own:
            for observer in self.observers:
                observer(record)
