"""The journal contract: one suite that every journal backend must pass.

To check a backend, subclass :class:`JournalContract` (or
:class:`DurableJournalContract` when its records outlive the object, as a
file or database does) in a ``test_*.py`` module, name the subclass
``Test...`` and implement :meth:`JournalContract.open_journal`::

    class TestPostgresJournal(DurableJournalContract):
        @pytest.fixture
        def location(self, postgresql_dsn):      # a fresh, empty database
            return postgresql_dsn

        async def open_journal(self, location):
            return await PostgresJournal.open(location)

``location`` names where the backend keeps its records; by default it is a
fresh ``tmp_path``. Every test gets a new, empty location and closes every
journal it opens.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from eventjobs.errors import JournalConflict
from eventjobs.events import (
    Event,
    JobCancelled,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.journal import Journal, Recorded

NOT_UTF8 = b"\xff\xfe\x00\x80 not utf-8 \xc3"

#: One event of every type, with the awkward values a journal must keep
#: exactly: bodies that are not UTF-8, non-ASCII text, empty strings, no owner.
SAMPLE_EVENTS: tuple[Event, ...] = (
    JobQueued(
        job_id=1,
        time=1_700_000_000.25,
        owner=None,
        store=True,
        request=RecordedRequest(
            method="POST",
            path="/_db/_system/_admin/echo",
            query_string="a=1&b=%C3%BC",
            headers=(("content-type", "application/octet-stream"), ("x-name", "grüße")),
            body=NOT_UTF8,
            client="192.0.2.7",
        ),
    ),
    JobStarted(job_id=1, time=1_700_000_001.0),
    JobDone(
        job_id=1,
        time=1_700_000_002.5,
        response=RecordedResponse(
            status=200,
            headers=(("content-type", "text/plain"),),
            body="☃ snow".encode(),
        ),
    ),
    JobFetched(job_id=1, time=1_700_000_003.0, by=None),
    JobQueued(
        job_id=2,
        time=1_700_000_004.0,
        owner="alice",
        store=False,
        request=RecordedRequest(
            method="GET", path="/_admin/sleep", query_string="duration=1"
        ),
    ),
    JobCancelled(
        job_id=2,
        time=1_700_000_005.0,
        by="root",
        response=RecordedResponse(status=410, body=b'{"code":410}'),
    ),
    JobInterrupted(
        job_id=3,
        time=1_700_000_006.0,
        reason="the server shut down while the job ran",
        response=RecordedResponse(status=503, body=NOT_UTF8),
    ),
    JobDeleted(job_id=2, time=1_700_000_007.0, by="alice", reason="expired"),
)


def numbered(events: Sequence[Event], first: int = 1) -> list[Recorded]:
    """*events* as records numbered *first*, *first* + 1, ..."""
    return [Recorded(seq, event) for seq, event in enumerate(events, start=first)]


class JournalContract:
    """The behaviour every journal backend shares. Not collected by itself."""

    @pytest.fixture
    def location(self, tmp_path: Path) -> Any:
        """Where the journal under test keeps its records (fresh and empty)."""
        return tmp_path / "journal"

    async def open_journal(self, location: Any) -> Journal:
        """Open the backend's journal at *location*."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def opened(self, location: Any) -> AsyncIterator[Journal]:
        journal = await self.open_journal(location)
        try:
            yield journal
        finally:
            await journal.aclose()

    @pytest.fixture
    async def journal(self, location: Any) -> AsyncIterator[Journal]:
        async with self.opened(location) as journal:
            yield journal

    # -- an empty journal ----------------------------------------------------

    async def test_empty_journal_has_head_zero(self, journal):
        """A new journal's head is 0."""
        assert journal.head == 0

    async def test_empty_journal_reads_nothing(self, journal):
        """A new journal yields no records."""
        assert list(journal.read()) == []

    # -- appending and reading ---------------------------------------------------

    async def test_append_then_read_returns_same_events_in_order(self, journal):
        """Appended events read back equal, in order, numbered 1..n."""
        await journal.append(numbered(SAMPLE_EVENTS))
        records = list(journal.read())
        assert [record.seq for record in records] == list(
            range(1, len(SAMPLE_EVENTS) + 1)
        )
        assert [record.event for record in records] == list(SAMPLE_EVENTS)

    async def test_append_moves_head_to_last_seq(self, journal):
        """After an append the head is the last record's sequence number."""
        await journal.append(numbered(SAMPLE_EVENTS))
        assert journal.head == len(SAMPLE_EVENTS)

    @pytest.mark.parametrize("after", range(len(SAMPLE_EVENTS) + 1))
    async def test_read_after_k_returns_only_later_records(self, journal, after):
        """read(after=k) yields exactly the records numbered k+1..head."""
        await journal.append(numbered(SAMPLE_EVENTS))
        assert list(journal.read(after)) == numbered(SAMPLE_EVENTS)[after:]

    async def test_read_after_head_returns_nothing(self, journal):
        """Reading after a position beyond the head yields nothing."""
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        assert list(journal.read(5)) == []

    async def test_read_can_be_repeated(self, journal):
        """Reading does not consume: a second read gives the same records."""
        await journal.append(numbered(SAMPLE_EVENTS))
        assert list(journal.read()) == list(journal.read())

    async def test_several_batches_read_as_one_sequence(self, journal):
        """Batches appended one after another read back as one numbered sequence."""
        await journal.append(numbered(SAMPLE_EVENTS[:1]))
        await journal.append(numbered(SAMPLE_EVENTS[1:4], first=2))
        await journal.append(numbered(SAMPLE_EVENTS[4:], first=5))
        assert list(journal.read()) == numbered(SAMPLE_EVENTS)
        assert journal.head == len(SAMPLE_EVENTS)

    async def test_empty_batch_changes_nothing(self, journal):
        """Appending an empty batch leaves head and records as they were."""
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        await journal.append([])
        assert journal.head == 2
        assert list(journal.read()) == numbered(SAMPLE_EVENTS[:2])

    async def test_non_utf8_bodies_round_trip_exactly(self, journal):
        """Request and response bodies that are not UTF-8 come back byte for byte."""
        request = RecordedRequest(
            method="PUT", path="/x", body=NOT_UTF8 + bytes(range(256))
        )
        response = RecordedResponse(status=500, body=bytes(range(255, -1, -1)))
        events = [
            JobQueued(job_id=9, time=1.0, owner=None, store=True, request=request),
            JobDone(job_id=9, time=2.0, response=response),
        ]
        await journal.append(numbered(events))
        queued, done = (record.event for record in journal.read())
        assert queued.request.body == request.body
        assert done.response.body == response.body

    # -- conflicts -----------------------------------------------------------------

    @pytest.mark.parametrize(
        "first_seq",
        [
            pytest.param(0, id="zero"),
            pytest.param(2, id="repeats-head"),
            pytest.param(4, id="gap"),
        ],
    )
    async def test_append_not_continuing_head_raises_conflict(self, journal, first_seq):
        """A batch not numbered head+1.. raises JournalConflict."""
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        with pytest.raises(JournalConflict):
            await journal.append(numbered(SAMPLE_EVENTS[2:4], first=first_seq))

    async def test_conflicting_append_writes_nothing(self, journal):
        """After a JournalConflict, head and records are unchanged."""
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        with pytest.raises(JournalConflict):
            await journal.append(numbered(SAMPLE_EVENTS[2:4], first=4))
        assert journal.head == 2
        assert list(journal.read()) == numbered(SAMPLE_EVENTS[:2])

    async def test_batch_with_wrong_seq_in_middle_writes_none_of_it(self, journal):
        """A batch whose later record is misnumbered is refused whole."""
        batch = [Recorded(1, SAMPLE_EVENTS[0]), Recorded(3, SAMPLE_EVENTS[1])]
        with pytest.raises(JournalConflict):
            await journal.append(batch)
        assert journal.head == 0
        assert list(journal.read()) == []

    async def test_append_continues_after_conflict(self, journal):
        """A refused batch does not stop a correctly numbered one afterwards."""
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        with pytest.raises(JournalConflict):
            await journal.append(numbered(SAMPLE_EVENTS[2:], first=2))
        await journal.append(numbered(SAMPLE_EVENTS[2:], first=3))
        assert list(journal.read()) == numbered(SAMPLE_EVENTS)


class DurableJournalContract(JournalContract):
    """The contract of backends whose records outlive the journal object."""

    async def test_reopened_empty_journal_has_head_zero(self, location):
        """Closing and reopening an empty journal leaves it empty."""
        async with self.opened(location):
            pass
        async with self.opened(location) as journal:
            assert journal.head == 0
            assert list(journal.read()) == []

    async def test_reopened_journal_has_same_head(self, location):
        """After aclose and reopen the head is where it was."""
        async with self.opened(location) as journal:
            await journal.append(numbered(SAMPLE_EVENTS[:3]))
            await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
        async with self.opened(location) as journal:
            assert journal.head == len(SAMPLE_EVENTS)

    async def test_reopened_journal_reads_same_records(self, location):
        """After aclose and reopen the same records read back."""
        async with self.opened(location) as journal:
            await journal.append(numbered(SAMPLE_EVENTS[:3]))
            await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
        async with self.opened(location) as journal:
            assert list(journal.read()) == numbered(SAMPLE_EVENTS)

    async def test_reopened_journal_continues_appending(self, location):
        """A reopened journal accepts head+1 and reads old and new records as one."""
        async with self.opened(location) as journal:
            await journal.append(numbered(SAMPLE_EVENTS[:3]))
        async with self.opened(location) as journal:
            await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
        async with self.opened(location) as journal:
            assert list(journal.read()) == numbered(SAMPLE_EVENTS)

    async def test_reopened_journal_refuses_stale_sequence(self, location):
        """A reopened journal still raises JournalConflict for a repeated number."""
        async with self.opened(location) as journal:
            await journal.append(numbered(SAMPLE_EVENTS[:3]))
        async with self.opened(location) as journal:
            with pytest.raises(JournalConflict):
                await journal.append(numbered(SAMPLE_EVENTS[3:4], first=3))
            assert list(journal.read()) == numbered(SAMPLE_EVENTS[:3])
