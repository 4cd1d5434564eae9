"""Snapshots of the views: restoring one gives the table a replay gives, on
any legal history (Hypothesis), through the real file format and the
memory journal's."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventjobs.errors import IllegalTransition
from eventjobs.journal import Recorded
from eventjobs.journal.snapshots import read_snapshot, write_snapshot
from eventjobs.projection import FinishedJob, JobTable, JobView, Phase, fold
from eventjobs.snapshot_codec import (
    decode_job,
    decode_table,
    encode_snapshot,
    encode_table,
)
from tests.strategies import EVENTS_BY_TYPE

#: Event types drawn, weighted towards the ones that move a job forward.
KINDS = (
    ["queued"] * 4
    + ["started"] * 3
    + ["done"] * 2
    + [kind for kind in EVENTS_BY_TYPE if kind not in ("queued", "started", "done")]
)


@st.composite
def histories(draw) -> list[Recorded]:
    """A legal sequence of records over a few jobs, with any field values;
    each record with or without a location (file or memory journal)."""
    table = JobTable()
    records: list[Recorded] = []
    for _ in range(draw(st.integers(0, 60))):
        kind = draw(st.sampled_from(KINDS))
        job_id = table.last_job_id + 1
        if kind not in ("queued", "schedule_added"):  # those take a new id
            if not table.last_job_id:
                continue
            job_id = draw(st.integers(1, table.last_job_id))
        event = attrs.evolve(draw(EVENTS_BY_TYPE[kind]), job_id=job_id)
        location = draw(st.none() | st.integers(0, 2**62))
        record = Recorded(table.position + 1, event, location)
        try:
            table.apply(record)  # all or nothing: an illegal one changes nothing
        except IllegalTransition:
            continue
        records.append(record)
    return records


def results(table: JobTable) -> dict:
    """Where each stored result is, which view equality leaves out."""
    return {job_id: (job.result_at, job.response) for job_id, job in table.jobs.items()}


def through_file(table: JobTable) -> JobTable:
    with tempfile.TemporaryDirectory() as directory:
        header, jobs = encode_snapshot(table)
        path = write_snapshot(Path(directory), table.position, "0" * 64, header, jobs)
        snapshot = read_snapshot(path)
        return decode_table(snapshot.header, snapshot.jobs())


def through_json(table: JobTable) -> JobTable:
    """As the memory journal keeps it: each entry as JSON text."""
    header, jobs = encode_snapshot(table)
    texts = [json.dumps(job) for job in jobs]
    return decode_table(
        json.loads(json.dumps(header)), (json.loads(text) for text in texts)
    )


def through_version_1(table: JobTable) -> JobTable:
    """As a version 1 snapshot held it: one document, every field of every job."""
    document = json.loads(json.dumps({**encode_table(table), "v": 1}))
    return decode_table(document, document.pop("jobs"))


@pytest.mark.parametrize("restore", [through_file, through_json, through_version_1])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=histories(), data=st.data())
def test_a_restored_snapshot_continues_like_a_replay(restore, records, data):
    """At any point of any legal history, the table restored from a snapshot
    equals the replayed one (views, results, counts, ids), and applying the
    rest of the history to both keeps them equal."""
    cut = data.draw(st.integers(0, len(records)))
    replayed = fold(records[:cut])
    restored = restore(replayed)
    assert restored == replayed
    assert results(restored) == results(replayed)
    fold(records[cut:], restored)
    full = fold(records)
    assert restored == full
    assert results(restored) == results(full)
    assert (restored.queued_count, restored.running_count) == (
        full.queued_count,
        full.running_count,
    )


@settings(max_examples=150, deadline=None)
@given(histories())
def test_views_take_the_compact_shape_exactly_when_finished(records):
    """Every finished job in the table is a FinishedJob (visible, stored,
    with its result's status); every pending one a JobView; the counts
    follow the phases."""
    table = fold(records)
    for job in table.jobs.values():
        if job.phase is Phase.FINISHED:
            assert isinstance(job, FinishedJob)
            assert job.visible and job.store and not job.pending
            assert job.request is None and job.progress is None and not job.cancelling
            assert (job.response is None) != (job.result_at is None)
            assert job.status == (job.response.status if job.response else job.status)
            assert job.stamp == job.finished
        else:
            assert isinstance(job, JobView) and job.pending
            assert job.finished is job.status is job.response is job.result_at is None
            assert job.stamp == job.created
    phases = [job.phase for job in table.jobs.values()]
    assert table.queued_count == phases.count(Phase.QUEUED)
    assert table.running_count == phases.count(Phase.RUNNING)


def test_a_finished_entry_is_compact():
    """A finished job's snapshot entry has only what its view keeps."""
    view = FinishedJob.of(
        job_id=5,
        owner="alice",
        method="PUT",
        path="/x",
        created=1.0,
        started=None,
        finished=2.0,
        status=200,
        result=12345,
    )
    _, jobs = encode_snapshot(JobTable(jobs={5: view}, last_job_id=5, position=9))
    (entry,) = list(jobs)
    assert entry == {
        "job": 5,
        "owner": "alice",
        "method": "PUT",
        "path": "/x",
        "created": 1.0,
        "started": None,
        "finished": 2.0,
        "status": 200,
        "result_at": 12345,
    }
    assert decode_job(entry) == view and decode_job(entry).result == 12345
