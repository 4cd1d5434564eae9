"""Recurring schedules: their commands and queries, and the task that fires them.

A schedule is recorded ``schedule_added`` (its id comes from the job ids)
and ``schedule_removed``; the table keeps the live ones
(:attr:`~eventjobs.projection.JobTable.schedules`), each with the time of
its latest firing. :meth:`Schedules.run` submits each firing as an ordinary
stored job of the schedule's owner (:meth:`.jobs.Jobs.submit`), with
``schedule`` and ``schedule_time`` in its ``queued`` event and the
``Idempotency-Key`` ``schedule:<id>:<firing time>``: so a firing made twice
(two nodes on one journal, each running this task) is one job, as two
identical keyed submissions are.

Missed firings (the server was down, or busy) follow the schedule's
``catch_up``: ``latest`` submits the last one due, ``all`` every one due
(oldest first), ``none`` none of those due before this task started.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Final

import trio

from ..errors import (
    EventJobsError,
    IdempotencyConflict,
    QueueFull,
    QuotaExceeded,
    ShuttingDown,
)
from ..events import RecordedRequest, ScheduleAdded, ScheduleRemoved
from ..identity import Caller
from ..lifecycle import is_schedule_event
from ..projection import JobTable, ScheduleView
from ..records import Recorded
from ..recurrence import BadSchedule, Recurrence, check_recurrence
from ..referee import Rejected
from .jobs import Jobs, Parts

log = logging.getLogger("eventjobs.schedules")

#: The longest the firing task sleeps without looking at the table again
#: (a schedule added on another node wakes it sooner, through the records).
MAX_NAP: Final = 60.0
#: Firings of one schedule submitted in one pass (``catch_up: all`` after a
#: long downtime goes on in the next pass at once).
BATCH: Final = 100
#: How far ahead the next firing is looked for (a cron expression that
#: matches less often than that is looked at again then).
HORIZON: Final = 400 * 86400.0


def firing_key(schedule_id: int, at: float) -> str:
    """The ``Idempotency-Key`` of the firing of *schedule_id* due at *at*."""
    return f"schedule:{schedule_id}:{at:.3f}"


def recurrence_of(schedule: ScheduleView) -> Recurrence:
    """*schedule*'s firing rule, checked (a journal written by hand may hold
    anything).

    Raises:
        BadSchedule: the journal's schedule cannot fire.
    """
    return check_recurrence(
        schedule.cron, schedule.every, schedule.timezone, schedule.catch_up
    )


class Schedules:
    """See the module docstring.

    Args:
        clock: wall-clock unix seconds (the runtime's).
        table: the runtime's job table.
        parts: the running writer, supervisor and mode.
        jobs: the job commands each firing is submitted with.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        table: JobTable,
        parts: Parts,
        jobs: Jobs,
    ) -> None:
        self._clock = clock
        self._table = table
        self._parts = parts
        self._jobs = jobs
        self._changed = trio.Event()
        #: Schedule id -> the latest firing time this task has dealt with
        #: (submitted, or given up on), so that a refused firing is not
        #: tried again in a loop.
        self._cursors: dict[int, float] = {}
        self._started: float | None = None

    # -- commands and queries --------------------------------------------------

    async def add(
        self, recurrence: Recurrence, request: RecordedRequest, caller: Caller
    ) -> int:
        """Record a schedule of *caller*'s; return its id once durable.

        Raises:
            ShuttingDown: the server is stopping; nothing was recorded.
            JournalUnavailable: the event did not reach the journal.

        Cancellation: the schedule may still be recorded; only the wait stops.
        """
        writer, supervisor, mode = self._parts()
        if supervisor.stopping:
            raise ShuttingDown("shutdown in progress")
        recorded = await writer.record(
            ScheduleAdded(
                job_id=mode.new_id(),
                time=self._clock(),
                owner=caller.name,
                request=request,
                cron=recurrence.cron,
                every=recurrence.every,
                timezone=recurrence.timezone,
                catch_up=recurrence.catch_up,
            )
        )
        self._changed.set()
        return recorded.event.job_id

    async def remove(self, schedule_id: int, caller: Caller) -> bool:
        """Remove the caller's schedule; False when they have none by that id
        (or another node removed it first). Its jobs are left as they are."""
        writer, _, mode = self._parts()
        await mode.sync(None)
        if self._table.find_schedule(schedule_id, caller) is None:
            return False
        try:
            await writer.record(
                ScheduleRemoved(job_id=schedule_id, time=self._clock(), by=caller.name)
            )
        except Rejected:
            return False
        self._changed.set()
        return True

    def find(self, schedule_id: int, caller: Caller) -> ScheduleView | None:
        """The caller's schedule, or None (404 to them)."""
        return self._table.find_schedule(schedule_id, caller)

    def listed(self, caller: Caller) -> list[ScheduleView]:
        """The caller's schedules (a superuser's: everyone's), by id."""
        return self._table.schedules_of(caller)

    def next_firing(self, schedule: ScheduleView) -> float | None:
        """When *schedule* fires next (unix seconds), as far as is known now."""
        try:
            recurrence = recurrence_of(schedule)
        except BadSchedule:
            return None
        after = max(self._cursor(schedule), self._clock())
        found = recurrence.firings(schedule.created, after, after + HORIZON, 1)
        return found[0] if found else None

    def observe(self, record: Recorded) -> None:
        """A record became durable: a schedule added or removed (perhaps on
        another node) wakes the firing task. (A writer observer: no yield.)"""
        if is_schedule_event(record.event):
            self._changed.set()

    # -- the firing task ---------------------------------------------------------

    async def run(
        self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Fire every schedule when due, until cancelled (or the server
        stops taking jobs).

        Cancellation: stops between firings; a firing being submitted is
        recorded or not, as any submission whose client went away.
        """
        self._started = self._clock()
        task_status.started()
        while True:
            now = self._clock()
            wake = now + MAX_NAP
            for schedule in list(self._table.schedules.values()):
                try:
                    at = await self._fire_due(schedule, now)
                except ShuttingDown:
                    return
                wake = min(wake, at)
            self._changed = trio.Event()
            # At least a millisecond: the wall clock and trio's may round a
            # due time differently, and this must not spin meanwhile.
            with trio.move_on_after(max(wake - self._clock(), 0.001)):
                await self._changed.wait()

    def _cursor(self, schedule: ScheduleView) -> float:
        """Firings at or before this time are not due any more."""
        cursor = schedule.created
        if schedule.last_fired is not None:
            cursor = max(cursor, schedule.last_fired)
        cursor = max(cursor, self._cursors.get(schedule.schedule_id, -math.inf))
        if schedule.catch_up == "none" and self._started is not None:
            cursor = max(cursor, self._started)
        return cursor

    async def _fire_due(self, schedule: ScheduleView, now: float) -> float:
        """Submit *schedule*'s due firings (as its catch-up says); return
        when to look at it again."""
        try:
            recurrence = recurrence_of(schedule)
        except BadSchedule as error:
            if self._cursors.get(schedule.schedule_id) != math.inf:
                log.error("schedule %d cannot fire: %s", schedule.schedule_id, error)
                self._cursors[schedule.schedule_id] = math.inf
            return now + MAX_NAP
        due = recurrence.firings(schedule.created, self._cursor(schedule), now, BATCH)
        if due and recurrence.catch_up != "all":
            # "latest", and "none" for the firings since this task started.
            due = due[-1:]
        for at in due:
            if schedule.schedule_id not in self._table.schedules:
                break  # removed meanwhile
            self._cursors[schedule.schedule_id] = at
            await self._submit(schedule, at)
        if len(due) == BATCH:
            return now  # more are due: go on at once
        ahead = recurrence.firings(schedule.created, now, now + HORIZON, 1)
        return ahead[0] if ahead else now + MAX_NAP

    async def _submit(self, schedule: ScheduleView, at: float) -> None:
        caller = Caller(schedule.owner)
        try:
            job_id = await self._jobs.submit(
                schedule.request,
                caller,
                store=True,
                idempotency_key=firing_key(schedule.schedule_id, at),
                schedule=schedule.schedule_id,
                schedule_time=at,
            )
        except ShuttingDown:
            raise
        except (QueueFull, QuotaExceeded, IdempotencyConflict) as error:
            log.warning(
                "schedule %d: the firing due at %.3f was not submitted: %s",
                schedule.schedule_id,
                at,
                error,
            )
            return
        except EventJobsError as error:  # the journal failed: this firing is lost
            log.warning(
                "schedule %d: the firing due at %.3f was not recorded: %s",
                schedule.schedule_id,
                at,
                error,
            )
            return
        log.info(
            "schedule %d fired (due at %.3f): job %d", schedule.schedule_id, at, job_id
        )
