"""Housekeeping: the runtime's background loops besides the jobs themselves.

- retention removes stored results past ``result_ttl`` or ``max_results``
  (each with a ``deleted`` event whose reason names the limit);
- snapshots of the views are written once enough records have accumulated,
  so that a restart replays only the records after the newest one.

Both run in the job nursery and stop when it is cancelled (between rounds;
what was recorded stays).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from ..actors.writing import Writer
from ..errors import JournalUnavailable
from ..events import JobDeleted
from ..projection import JobTable
from ..retention import expired_results
from ..settings import Settings
from ..snapshot_codec import encode_snapshot
from .modes import Mode

log = logging.getLogger("eventjobs.runtime")

#: How often retention looks for results past their limits (seconds).
RETENTION_INTERVAL = 1.0
#: How often the runtime checks whether a snapshot is due (seconds).
SNAPSHOT_CHECK_INTERVAL = 1.0


class Housekeeping:
    """Retention and snapshots of one runtime; see the module docstring."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock
        #: The position of the newest snapshot written or loaded.
        self.snapshot_position = 0

    @property
    def retention_on(self) -> bool:
        return (
            self._settings.result_ttl is not None
            or self._settings.max_results is not None
        )

    async def enforce_retention(self, writer: Writer) -> None:
        """Every ``RETENTION_INTERVAL`` seconds, record ``deleted`` for each
        result past its limits. Runs until cancelled."""
        while True:
            victims = expired_results(
                writer.table,
                self._clock(),
                result_ttl=self._settings.result_ttl,
                max_results=self._settings.max_results,
            )
            try:
                for job_id, reason in victims:
                    writer.record_nowait(
                        JobDeleted(
                            job_id=job_id, time=self._clock(), by=None, reason=reason
                        )
                    )
            except JournalUnavailable:
                pass  # the journal is failing; try again next round
            await trio.sleep(RETENTION_INTERVAL)

    async def take_snapshots(self, writer: Writer, mode: Mode) -> None:
        """Snapshot the views once the records since the last snapshot reach
        ``snapshot_every`` and the number of live jobs (see Settings). Runs
        until cancelled."""
        while True:
            await trio.sleep(SNAPSHOT_CHECK_INTERVAL)
            if writer.table.position - self.snapshot_position >= self._snapshot_due(
                writer.table
            ):
                await self.snapshot(writer, mode)

    def _snapshot_due(self, table: JobTable) -> int:
        """Records between snapshots (see ``Settings.snapshot_every``)."""
        return max(self._settings.snapshot_every, len(table.jobs))

    async def snapshot(self, writer: Writer, mode: Mode) -> None:
        """Write a snapshot of the views at the durable head, if it moved.

        The views are copied synchronously (so they are consistent) only
        when the table holds nothing beyond the durable head; otherwise this
        tries again after the open batch is durable. A journal that fails
        only costs the snapshot (logged; the next one is tried when due).
        """
        try:
            await writer.flush()
        except JournalUnavailable:
            return
        table = writer.table
        position = table.position
        if position == self.snapshot_position or position > mode.journal.head:
            return
        # A copy of the views (a list) is consistent and quick; encoding
        # them costs in proportion to the live jobs, so it is lazy: a journal
        # that writes from a worker thread encodes them there, while the
        # table moves on.
        header, jobs = encode_snapshot(table)
        try:
            stored = await mode.save_snapshot(
                position, header, jobs, min_gap=self._snapshot_due(table)
            )
        except JournalUnavailable as error:
            # A snapshot only saves replay work at the next start: go on
            # without it, and try again when the next one is due.
            log.warning(
                "snapshot at sequence number %d not written: %s", position, error
            )
            return
        self.snapshot_position = position
        if stored:
            log.info("snapshot of the views at sequence number %d written", position)
