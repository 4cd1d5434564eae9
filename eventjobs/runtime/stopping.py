"""How a runtime stops, in order: intake, the drain, the last writes.

1. :meth:`Stopping.stop_intake`: new jobs are refused (503) from the moment
   the server is told to stop, while it still serves the requests arriving
   on open connections.
2. :meth:`Stopping.shutdown`: the running jobs get ``--shutdown-timeout``
   to finish (a second stop signal, :meth:`Stopping.hurry`, ends the wait);
   the rest are interrupted and recorded so.
3. The journal is flushed and a snapshot written, unless the runtime was
   stopped for good (the journal takes nothing more; the recovery rules
   settle the rest at the next start).

A stop asked before the supervisor exists is remembered and passed on to it
when it starts (:meth:`Stopping.apply_to`).
"""

from __future__ import annotations

import logging

import trio

from ..actors.supervisor import Supervisor
from ..actors.writing import Writer
from ..errors import JournalUnavailable
from ..settings import Settings
from .health import Health
from .housekeeping import Housekeeping
from .modes import Mode
from .startup import StartupProgress

log = logging.getLogger("eventjobs.runtime")


class Stopping:
    """The stop of one runtime (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        startup: StartupProgress,
        health: Health,
        housekeeping: Housekeeping,
    ) -> None:
        self._settings = settings
        self._startup = startup
        self._health = health
        self._housekeeping = housekeeping
        self.intake_stopped = False
        self.hurried = False
        #: Set once :meth:`shutdown` is over: the runtime's task tree ends.
        self.stopped = trio.Event()

    def stop_intake(self, supervisor: Supervisor | None) -> None:
        self.intake_stopped = True
        if supervisor is not None:
            supervisor.stop_intake()

    def hurry(self, supervisor: Supervisor | None) -> None:
        self.hurried = True
        if supervisor is not None:
            supervisor.hurry()

    def apply_to(self, supervisor: Supervisor) -> None:
        """Told to stop (or to hurry) while it started: so is *supervisor*."""
        if self.intake_stopped:
            supervisor.stop_intake()
        if self.hurried:
            supervisor.hurry()

    async def shutdown(
        self, writer: Writer | None, supervisor: Supervisor | None, mode: Mode | None
    ) -> None:
        """Drain *supervisor*'s jobs, then flush *writer* and snapshot;
        either may be None (the stop came during the start-up)."""
        self._startup.shutdown_asked = True
        if writer is None and self._health.fatal is None:
            log.info(
                "shutdown while starting (%s): no job was served", self._startup.step
            )
        if supervisor is not None:
            running = supervisor.statistics().running
            timeout = self._settings.shutdown_timeout
            if running and timeout > 0 and not self.hurried:
                # Say what the stop waits for: it may look like a hang.
                log.info(
                    "shutdown: waiting up to %g s for %d running job%s to finish; "
                    "then %s interrupted",
                    timeout,
                    running,
                    "" if running == 1 else "s",
                    "it is" if running == 1 else "they are",
                )
            await supervisor.shutdown(timeout)
        if writer is not None and self._health.fatal is None:
            try:
                await writer.flush()
            except JournalUnavailable:
                # Already logged by the writer; what did not reach the disk is
                # resolved by the recovery rules at the next start.
                pass
            else:
                assert mode is not None
                await self._housekeeping.snapshot(writer, mode)
        self.stopped.set()
