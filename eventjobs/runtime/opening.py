"""The journal a runtime runs on and the mode it runs in, each opened (or
chosen) once, and the replay that rebuilds the runtime's table from it.

A journal given to the runtime stays its giver's to close; one the settings
name is opened here and closed by :meth:`Opening.close`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import trio

from ..journal import Journal, NodeJournal
from ..errors import NotRunning
from ..projection import JobTable
from ..settings import Settings
from .housekeeping import Housekeeping
from .modes import Mode, choose_mode
from .startup import StartupProgress, open_configured_journal, replay_off_the_loop

log = logging.getLogger("eventjobs.runtime")


class Opening:
    """The journal and the mode of one runtime.

    Args:
        settings: the journal location and the mode's settings.
        journal: use this journal instead of the one *settings* names.
        clock: the injected clock (None: the mode's own, see
            :func:`~.modes.choose_mode`).
    """

    def __init__(
        self,
        settings: Settings,
        journal: Journal | NodeJournal | None,
        clock: Callable[[], float] | None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self.journal_or_none = journal
        self.owns_journal = journal is None
        self.mode: Mode | None = None
        self._replayed = False

    @property
    def journal(self) -> Journal | NodeJournal:
        if self.journal_or_none is None:
            raise NotRunning("the runtime has not been opened")
        return self.journal_or_none

    def now(self) -> float:
        """Unix seconds: the mode's clock once chosen, else the injected one."""
        if self.mode is not None:
            return self.mode.clock()
        return (self._clock or time.time)()

    async def open_journal(self) -> None:
        """Open the journal without reading its records (cheap), and choose
        the mode it runs in. Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal's last record does not read.
        """
        if self.journal_or_none is None:
            self.journal_or_none = await open_configured_journal(self._settings)
        if self.mode is None:
            self.mode = choose_mode(self.journal_or_none, self._settings, self._clock)

    async def replay_into(
        self, table: JobTable, progress: StartupProgress, housekeeping: Housekeeping
    ) -> None:
        """Open the journal and rebuild *table* in place from it. Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal does not read back (a journal opened
                here is closed again).
            ShutdownDuringReplay: the shutdown came during the replay.
        """
        if self._replayed:
            return
        await self.open_journal()
        journal = self.journal
        try:
            replayed = await replay_off_the_loop(journal, progress)
        except BaseException:
            if self.owns_journal:
                await journal.aclose()
                self.journal_or_none = self.mode = None
            raise
        table.reset_to(replayed.table)  # in place: every part holds this table
        housekeeping.snapshot_position = replayed.snapshot_position
        self._replayed = True
        log.info(
            "journal %r replayed: %d records, %d jobs held, next job id %d",
            journal,
            table.position,
            len(table.jobs),
            table.last_job_id + 1,
        )

    async def rebuild(self) -> JobTable:
        """The table as the journal durably holds it (after a failed append)."""
        return (await replay_off_the_loop(self.journal)).table

    async def close(self) -> None:
        """Close the journal if it was opened here (shielded from cancels)."""
        if self.owns_journal and self.journal_or_none is not None:
            with trio.CancelScope(shield=True):
                await self.journal_or_none.aclose()
