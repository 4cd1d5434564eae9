"""The table keeps its stored results in the order they finished, so that
retention reads the oldest without scanning a million (eventjobs.retention);
on any legal history (Hypothesis) that order, the count, and retention's
answers agree with a scan of the whole table."""

from __future__ import annotations

import heapq

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventjobs.bench.sample_events import RESPONSE, queued
from eventjobs.events import JobDone, JobFetched, JobStarted
from eventjobs.journal import Recorded
from eventjobs.projection import FinishedJob, JobTable, fold
from eventjobs.retention import MAX_RESULTS_REASON, TTL_REASON, expired_results
from tests.test_snapshot_codec import histories, through_json

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def finishing_order(records: list[Recorded], table: JobTable) -> list[int]:
    """Ids of the table's finished jobs in the order their last record came."""
    last = {}
    for record in records:
        last[record.event.job_id] = record.seq
    finished = [
        job.job_id for job in table.jobs.values() if isinstance(job, FinishedJob)
    ]
    return sorted(finished, key=last.__getitem__)


@SETTINGS
@given(histories())
def test_finished_jobs_come_in_the_order_they_finished(records):
    table = fold(records)
    assert [job.job_id for job in table.finished_in_order()] == finishing_order(
        records, table
    )
    assert table.finished_count == len(finishing_order(records, table))


@SETTINGS
@given(records=histories(), data=st.data())
def test_after_a_snapshot_they_come_by_completion_time_and_stay_complete(records, data):
    cut = data.draw(st.integers(0, len(records)))
    restored = through_json(fold(records[:cut]))
    finished = [job for job in restored.jobs.values() if isinstance(job, FinishedJob)]
    by_time = sorted(finished, key=lambda job: (job.finished, job.job_id))
    assert list(restored.finished_in_order()) == by_time
    fold(records[cut:], restored)
    full = fold(records)
    assert {job.job_id for job in restored.finished_in_order()} == {
        job.job_id for job in full.finished_in_order()
    }
    assert restored.finished_count == full.finished_count


def scanned(
    table: JobTable, now: float, result_ttl: float | None, max_results: int | None
):
    """What retention answered when it scanned every stored result."""
    stored = [job for job in table.jobs.values() if isinstance(job, FinishedJob)]
    victims = []
    if result_ttl is not None:
        expired = sorted(
            (job for job in stored if job.finished < now - result_ttl),
            key=lambda j: j.finished,
        )
        victims += [(job.job_id, TTL_REASON) for job in expired]
        stored = [job for job in stored if job not in expired]
    if max_results is not None and len(stored) > max_results:
        oldest = heapq.nsmallest(
            len(stored) - max_results, stored, key=lambda j: j.finished
        )
        victims += [(job.job_id, MAX_RESULTS_REASON) for job in oldest]
    return victims


@SETTINGS
@given(
    records=histories(),
    now=st.integers(0, 80),
    result_ttl=st.none() | st.integers(0, 80),
    max_results=st.none() | st.integers(0, 10),
)
def test_retention_answers_what_a_full_scan_answers_while_the_clock_goes_forward(
    records, now, result_ttl, max_results
):
    """With times that follow the journal (a clock that never goes back),
    stopping at the first young result loses nothing."""
    records = [
        attrs.evolve(r, event=attrs.evolve(r.event, time=float(r.seq))) for r in records
    ]
    table = fold(records)
    assert expired_results(
        table, now, result_ttl=result_ttl, max_results=max_results
    ) == scanned(table, now, result_ttl, max_results)


def test_ids_of_fetched_jobs_do_not_pile_up():
    """Fetched results leave their ids behind for a while; never more than
    the results held plus a constant."""
    table = JobTable()
    for job_id in range(1, 20_001):
        for event in (
            queued(job_id, 1.0),
            JobStarted(job_id=job_id, time=1.0),
            JobDone(job_id=job_id, time=1.0, response=RESPONSE),
        ):
            table.apply(Recorded(table.position + 1, event))
        if job_id % 100:  # keep one in a hundred
            table.apply(
                Recorded(
                    table.position + 1, JobFetched(job_id=job_id, time=1.0, by=None)
                )
            )
    assert table.finished_count == 200
    assert len(table._finish_order) <= 2 * 200 + 1024
    assert [job.job_id for job in table.finished_in_order()] == list(
        range(100, 20_001, 100)
    )
