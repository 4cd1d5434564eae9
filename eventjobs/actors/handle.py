"""A running job as its own code sees it: id, progress, honest stopping.

The supervisor makes one :class:`JobHandle` per running job and puts it in
the context of the job's task (:data:`CURRENT_JOB`), so the handler, and any
helper it calls, finds it with ``CURRENT_JOB.get()`` without it being passed
around. A synchronous request has no handle.

The handle also holds the job's cancel scope and why it is being stopped:

- ``"cancel"``: a client asked (``PUT /_api/job/{id}/cancel``);
- ``"timeout"``: the scope's deadline (the job's timeout) passed;
- ``"shutdown"``: the server stopped it.

Progress reports are throttled: at most one ``progress`` event per job per
``progress_interval`` seconds (trio's clock); a report that comes sooner is
kept and recorded when the interval is over, or when the job ends, whichever
is first, so the last report always reaches the journal.
"""

from __future__ import annotations

import logging
import math
from contextvars import ContextVar
from typing import TYPE_CHECKING

import trio

from ..errors import JournalUnavailable
from ..events import JobCancelling, JobProgressed, Owner

if TYPE_CHECKING:
    from collections.abc import Callable

    from .process_pool import ProcessPool
    from .writing import Writer

log = logging.getLogger("eventjobs.jobs")

#: Longest progress message kept; longer ones are cut (the journal is not a log).
MAX_PROGRESS_MESSAGE = 200


class JobHandle:
    """See the module docstring. Made and owned by the supervisor."""

    def __init__(
        self,
        job_id: int,
        writer: Writer,
        clock: Callable[[], float],
        nursery: trio.Nursery,
        *,
        progress_interval: float,
        timeout: float | None,
    ) -> None:
        self.job_id = job_id
        self.scope = trio.CancelScope()
        #: The run-time limit in seconds, or None.
        self.timeout = timeout
        self.cancelled_by: Owner = None
        #: For reports from worker threads (see ``eventjobs.report_progress``).
        self.token = trio.lowlevel.current_trio_token()
        self._writer = writer
        self._clock = clock
        self._nursery = nursery
        self._interval = progress_interval
        self._reason: str | None = None
        self._cancelling = False
        self._ended = False
        self._last_recorded: float | None = None
        self._pending: tuple[float, str] | None = None
        self._flush_scope: trio.CancelScope | None = None
        #: Scopes helpers wait in, shielded, for work that cannot be
        #: interrupted; cancelled at shutdown so the server never hangs on one.
        self._waits: set[trio.CancelScope] = set()

    def __repr__(self) -> str:
        return f"<JobHandle job={self.job_id} stopping={self.stop_reason}>"

    # -- stopping -------------------------------------------------------------

    @property
    def stop_reason(self) -> str | None:
        """``"cancel"``, ``"timeout"``, ``"shutdown"`` or None (not stopping)."""
        # cancel_called also turns true once the deadline has passed.
        if self._reason is None and self.scope.cancel_called:
            self._reason = "timeout"
        return self._reason

    def cancel(self, by: Owner, *, recorded: bool = False) -> None:
        """A client asked the job to stop; the first stop request wins.

        *recorded*: that request is in the journal already (``cancelling``),
        so :meth:`report_cancelling` need not record it.
        """
        if self.stop_reason is not None:
            return
        self._reason = "cancel"
        self.cancelled_by = by
        self._cancelling = self._cancelling or recorded
        self.scope.cancel()

    def interrupt(self) -> None:
        """The server stops the job: also ends any wait for uninterruptible work."""
        self._reason = "shutdown"
        self.scope.cancel()
        for scope in self._waits:
            scope.cancel()

    def uninterruptible_wait(self) -> trio.CancelScope:
        """A shielded scope for waiting on work that cannot be stopped; only
        :meth:`interrupt` (server shutdown) cancels it. Use it as ``with``,
        then call :meth:`end_wait` with it."""
        scope = trio.CancelScope(shield=True)
        if self._reason == "shutdown":
            scope.cancel()
        self._waits.add(scope)
        return scope

    def end_wait(self, scope: trio.CancelScope) -> None:
        self._waits.discard(scope)

    def report_cancelling(self) -> None:
        """Record that the job is stopping but its work has yet to return.

        Once per job, and only for a cancel or a timeout: a job the server
        stops is recorded ``interrupted`` whatever its work does.
        """
        reason = self.stop_reason
        if self._cancelling or self._ended or reason not in ("cancel", "timeout"):
            return
        self._cancelling = True
        by = self.cancelled_by if reason == "cancel" else None
        self._record(
            JobCancelling(job_id=self.job_id, time=self._clock(), by=by, reason=reason)
        )

    # -- progress ---------------------------------------------------------------

    def report_progress(self, fraction: float, message: str = "") -> None:
        """Report progress; see the module docstring for throttling.

        Raises:
            ValueError: *fraction* is not a number from 0 to 1.
            TypeError: *message* is not a string.
        """
        fraction = check_fraction(fraction)
        if not isinstance(message, str):
            raise TypeError(
                f"a progress message must be a str, not {type(message).__name__}"
            )
        message = message[:MAX_PROGRESS_MESSAGE]
        if self._ended:
            return
        now = trio.current_time()
        if self._last_recorded is None or now - self._last_recorded >= self._interval:
            self._pending = None
            self._record_progress(fraction, message, now)
            return
        self._pending = (fraction, message)
        if self._flush_scope is None:
            self._flush_scope = trio.CancelScope()
            self._nursery.start_soon(self._flush_later, self._flush_scope)

    async def _flush_later(self, scope: trio.CancelScope) -> None:
        with scope:
            assert self._last_recorded is not None
            await trio.sleep_until(self._last_recorded + self._interval)
            self._flush_scope = None
            self.flush_progress()

    def flush_progress(self) -> None:
        """Record the report held back by the throttle, if any."""
        if self._pending is not None and not self._ended:
            fraction, message = self._pending
            self._pending = None
            self._record_progress(fraction, message, trio.current_time())

    def end(self) -> None:
        """The job is about to record its end: flush, then accept no more."""
        self.flush_progress()
        self._ended = True
        if self._flush_scope is not None:
            self._flush_scope.cancel()
            self._flush_scope = None

    def _record_progress(self, fraction: float, message: str, now: float) -> None:
        self._last_recorded = now
        self._record(
            JobProgressed(
                job_id=self.job_id,
                time=self._clock(),
                fraction=fraction,
                message=message,
            )
        )

    def _record(self, event: JobProgressed | JobCancelling) -> None:
        try:
            self._writer.record_nowait(event)
        except JournalUnavailable as error:
            # Progress and "cancelling" are reports; the job's end decides its fate.
            log.warning("job %d: not recorded: %s", self.job_id, error)


def check_fraction(fraction: float) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise ValueError(f"progress must be a number from 0 to 1, not {fraction!r}")
    value = float(fraction)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"progress must be a number from 0 to 1, not {fraction!r}")
    return value


#: The handle of the job whose code is running, None in a synchronous request.
CURRENT_JOB: ContextVar[JobHandle | None] = ContextVar(
    "eventjobs.current_job", default=None
)

#: The worker-process pool of the server handling the current request or job.
CURRENT_POOL: ContextVar[ProcessPool | None] = ContextVar(
    "eventjobs.current_pool", default=None
)
