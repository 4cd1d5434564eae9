"""Fan-out: what the runtime does with each record once it is in the table.

The writer calls :meth:`Fanout.observe_own` with each record this server
made, once durable (metrics and the job log: with several nodes, each tells
only of what it did), and :meth:`Fanout.observe_applied` with every record
applied to the table, this server's or another node's: it wakes long-poll
waiters, calls the observers added with :meth:`add_observer` (live feeds),
and passes on a cancel asked for on another node of a job running here.
Both run in the writer's task: they must not raise or yield.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from ..actors.supervisor import Supervisor
from ..events import JobCancelling
from ..lifecycle import stops_pending
from ..records import Recorded
from ..observe.metrics import Metrics
from ..observe.transitions import log_transition


class Fanout:
    """See the module docstring; *metrics* counts this server's records."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        #: job id -> event set when that job stops being pending.
        self._waiters: dict[int, trio.Event] = {}
        self._observers: list[Callable[[Recorded], None]] = []
        #: Where a cancel recorded on another node reaches a job running
        #: here (set as soon as the supervisor exists).
        self.supervisor: Supervisor | None = None

    def add_observer(self, observer: Callable[[Recorded], None]) -> None:
        """See :meth:`eventjobs.runtime.Runtime.add_observer`."""
        self._observers.append(observer)

    async def wait_pending(self, job_id: int, seconds: float) -> None:
        """Return once *job_id* stops being pending (it finishes, or is
        fetched or deleted), or after *seconds*. The caller checks first
        that it is pending now.

        Cancellation: returns nothing and leaves nothing behind but, at most,
        one event per job that is set and dropped when the job ends.
        """
        event = self._waiters.get(job_id)
        if event is None:
            event = self._waiters[job_id] = trio.Event()
        with trio.move_on_after(seconds):
            await event.wait()

    def observe_own(self, record: Recorded) -> None:
        """A record this server made, durable: metrics and the job log."""
        self._metrics.observe_event(record.event)
        log_transition(record.event)

    def observe_applied(self, record: Recorded, own: bool) -> None:
        """Any record now in the table: waiters, observers, and a cancel
        asked for (on any node: a node's own cancel of a running job works
        this way too) of a job running here."""
        event = record.event
        if stops_pending(event):
            waiting = self._waiters.pop(event.job_id, None)
            if waiting is not None:
                waiting.set()
        for observer in self._observers:
            observer(record)
        if (
            isinstance(event, JobCancelling)
            and event.reason == "cancel"
            and self.supervisor is not None
        ):
            self.supervisor.cancel_running(event.job_id, event.by, recorded=True)
