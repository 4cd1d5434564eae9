"""Health: whether the runtime serves jobs, and the error that stops it for good.

The probes (``/_eventjobs/ready``, ``/_eventjobs/health``), the metrics'
gauges and ``eventjobs serve`` read it. A runtime cannot serve when its
journal cannot be opened or replayed, or can serve no more when its journal
can never be written by it again (another server took it, or this node lost
its lease): :meth:`Health.stop_for_good` says so once, for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import trio

from ..actors.writing import Writer
from ..errors import JournalConflict, JournalCorrupt, JournalInUse, NodeFenced
from ..journal import Journal, NodeJournal
from ..projection import JobTable
from .startup import StartupProgress

log = logging.getLogger("eventjobs.runtime")

#: Append errors that end the writer for good (a retry would meet them
#: again): another server took the journal, or wrote to it; this node lost
#: its lease; records another node reads back do not verify.
NOT_RETRIED = (JournalInUse, JournalConflict, NodeFenced, JournalCorrupt)

#: Help texts of the gauges the runtime gives the metrics.
GAUGE_HELP = {
    "eventjobs_ready": "1 when jobs are served (replay done, journal writable), else 0.",
    "eventjobs_replay_records_read": "Journal records replayed so far at start-up.",
    "eventjobs_replay_records_to_read": "Journal records the start-up replay reads in all.",
    "eventjobs_journal_head": "Sequence number of the last durable journal record.",
    "eventjobs_journal_append_failures_total": "Group commits that failed (disk full, I/O error).",
}


@attrs.frozen
class Readiness:
    """Whether the runtime serves jobs; if not, why (one sentence)."""

    ready: bool
    reason: str | None = None


class Health:
    """The fatal error, if any, and who must hear of it."""

    def __init__(self) -> None:
        self._fatal: BaseException | None = None
        self._reason = "the journal cannot be read"
        self._event = trio.Event()
        #: Called once with the error by :meth:`stop_for_good` (e.g. to
        #: stop the jobs: they can record nothing any more).
        self.on_stop_for_good: list[Callable[[BaseException], None]] = []

    @property
    def fatal(self) -> BaseException | None:
        """The error that keeps the runtime from ever serving, if any."""
        return self._fatal

    @property
    def fatal_reason(self) -> str | None:
        """:attr:`fatal` as a sentence for the probes (None without one)."""
        return None if self._fatal is None else f"{self._reason}: {self._fatal}"

    def failed_to_start(self, error: BaseException) -> None:
        """The journal could not be opened or replayed."""
        self._fatal = error
        self._event.set()

    def stop_for_good(self, error: BaseException) -> None:
        """The journal can never be written by this server again: say so
        (probes, logs) and let ``eventjobs serve`` stop (:meth:`wait_fatal`)."""
        self._reason = "the journal cannot be written any more"
        self._fatal = error
        self._event.set()
        log.critical("eventjobs cannot serve jobs any more: %s", error)
        for react in self.on_stop_for_good:
            react(error)

    async def run_writer(self, writer: Writer, scope: trio.CancelScope) -> None:
        """Run *writer* inside *scope* until it ends; an append error no
        retry can cure (:data:`NOT_RETRIED`) stops the runtime for good
        instead of crashing the task tree.

        Started with ``start_soon``, not ``start``: a task may not move to
        its nursery from inside a cancel scope it opened itself.
        """
        with scope:
            try:
                await writer.run()
            except NOT_RETRIED as error:
                # Not a bug to crash on: kept for the probes and for whoever
                # runs the server (eventjobs serve stops on wait_fatal).
                # Raised by Runtime.run() once the server has shut down.
                self.stop_for_good(error)

    async def wait_fatal(self) -> BaseException:
        """Return the fatal error once there is one (never returns otherwise)."""
        await self._event.wait()
        assert self._fatal is not None
        return self._fatal

    def readiness(
        self,
        startup: StartupProgress,
        writer: Writer | None,
        *,
        stopping: bool,
    ) -> Readiness:
        """Whether jobs are served now: the replay is over (there is a
        *writer*) and the journal is writable; else why not."""
        if self._fatal is not None:
            return Readiness(False, self.fatal_reason)
        if stopping:
            return Readiness(False, "the server is shutting down")
        if writer is None:
            return Readiness(False, f"the server is starting: {startup.describe()}")
        failure = writer.failure
        if failure is not None:
            return Readiness(False, f"the journal cannot be written: {failure}")
        return Readiness(True)


@attrs.frozen
class Gauges:
    """What the metrics read at each scrape (:data:`GAUGE_HELP` names them),
    from the runtime's parts as they are at that moment."""

    table: JobTable
    readiness: Callable[[], Readiness]
    startup: StartupProgress
    journal: Callable[[], Journal | NodeJournal | None]
    writer: Callable[[], Writer | None]

    def gauges(self) -> dict[str, float]:
        journal, writer = self.journal(), self.writer()
        return {
            "eventjobs_ready": 1.0 if self.readiness().ready else 0.0,
            "eventjobs_replay_records_read": self.startup.read,
            "eventjobs_replay_records_to_read": self.startup.total or 0,
            "eventjobs_journal_head": journal.head if journal is not None else 0,
            "eventjobs_journal_append_failures_total": (
                writer.statistics().failed_appends if writer is not None else 0
            ),
        }
