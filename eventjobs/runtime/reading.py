"""The journal's records as the audit endpoints read them.

``/_eventjobs/journal`` streams records after a position and
``/_eventjobs/jobs/{id}/history`` lists one job's: both read through the
runtime's journal, off the event loop when its reads block (a directory).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import trio

from ..journal import Journal, NodeJournal
from ..records import Recorded


class JournalReader:
    """Reads of the journal *journal* gives (the runtime's, once open)."""

    def __init__(self, journal: Callable[[], Journal | NodeJournal]) -> None:
        self._journal = journal

    @property
    def head(self) -> int:
        """The sequence number of the journal's last durable record."""
        return self._journal().head

    async def after(self, after: int, limit: int) -> list[Recorded]:
        """Up to *limit* journal records after sequence number *after*, read
        off the event loop when the journal's reads block.

        Raises:
            JournalCorrupt: a record does not read back.

        Cancellation: a read in a worker thread goes on, its result dropped.
        """
        journal = self._journal()

        def read() -> list[Recorded]:
            records = journal.read(after=after)
            try:
                return list(itertools.islice(records, limit))
            finally:
                close = getattr(
                    records, "close", None
                )  # a generator holds an open file
                if close is not None:
                    close()

        if journal.reads_block:
            return await trio.to_thread.run_sync(read)
        return read()

    async def of_job(self, job_id: int) -> list[Recorded]:
        """Every journal record of *job_id*, in order (see :meth:`after`)."""
        journal = self._journal()

        def of_job() -> list[Recorded]:
            read_job = getattr(journal, "read_job", None)
            if (
                read_job is not None
            ):  # a journal that can find a job's records (PostgreSQL)
                return read_job(job_id)
            return [
                record for record in journal.read() if record.event.job_id == job_id
            ]

        if journal.reads_block:
            return await trio.to_thread.run_sync(of_job)
        return of_job()
