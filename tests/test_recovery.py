"""What a server started on an existing journal serves (issue: restart rules)."""

from __future__ import annotations

import json

import pytest

from eventjobs import Settings
from eventjobs.errors import JournalCorrupt
from eventjobs.runtime import Runtime
from eventjobs.events import JobInterrupted, JobQueued, JobStarted, RecordedRequest
from eventjobs.journal import MemoryJournal, Recorded
from tests.http.conftest import Gates, add_test_routes
from tests.support import serve_app, settle, submit

INTERRUPTED = {
    "code": 503,
    "error": True,
    "errorMessage": "job interrupted: the server stopped while it ran",
    "errorNum": 30,
}


def app_with_gates(gates):
    return lambda app: add_test_routes(app, gates)


async def test_done_results_survive_a_restart_identically():
    """A result stored by one run is fetched from the next with the same
    status, headers and body."""
    journal = MemoryJournal()
    gates = Gates()
    async with serve_app(journal=journal, setup=app_with_gates(gates)) as first:
        job_id = await submit(
            first.client, "POST", "/test/bytes", data=b"\xff\x00 data"
        )
        await settle()
        status_before = (await first.client.get(f"/_api/job/{job_id}")).status_code
    async with serve_app(journal=journal, setup=app_with_gates(gates)) as second:
        assert (
            (await second.client.get(f"/_api/job/{job_id}")).status_code
            == status_before
            == 200
        )
        result = await second.client.put(f"/_api/job/{job_id}")
        assert result.status_code == 200
        assert await result.get_data() == b"\xff\x00 data"
        assert result.headers["content-type"] == "application/octet-stream"
        assert result.headers["x-arango-async-id"] == str(job_id)


async def test_fetched_and_deleted_jobs_stay_gone_and_ids_continue():
    """Fetched and deleted jobs are 404 after a restart; new ids go on above."""
    journal = MemoryJournal()
    async with serve_app(journal=journal) as first:
        fetched = await submit(first.client, "GET", "/_api/version")
        deleted = await submit(first.client, "GET", "/_api/version")
        await settle()
        await first.client.put(f"/_api/job/{fetched}")
        await first.client.delete(f"/_api/job/{deleted}")
    async with serve_app(journal=journal) as second:
        for job_id in (fetched, deleted):
            assert (await second.client.put(f"/_api/job/{job_id}")).status_code == 404
        assert await submit(second.client, "GET", "/_api/version") == deleted + 1


async def test_queued_job_runs_after_restart():
    """A job the previous run left queued runs in the next one."""
    journal = MemoryJournal()
    gates = Gates()
    settings = Settings(journal=":memory:", max_running=1, shutdown_timeout=0)
    async with serve_app(
        settings, journal=journal, setup=app_with_gates(gates)
    ) as first:
        await submit(first.client, "POST", "/test/wait/a")
        waiting = await submit(first.client, "POST", "/test/bytes", data=b"later")
        await settle()
    async with serve_app(
        settings, journal=journal, setup=app_with_gates(gates)
    ) as second:
        await settle()
        result = await second.client.put(f"/_api/job/{waiting}")
        assert result.status_code == 200
        assert await result.get_data() == b"later"


async def test_started_but_unfinished_job_gets_interrupted_result():
    """A job left started by a crash is never pending forever: it is recorded
    interrupted at start-up and its result is the 503."""
    journal = MemoryJournal()
    request = RecordedRequest(
        method="GET", path="/_admin/sleep", query_string="duration=5"
    )
    await journal.append(
        [
            Recorded(
                1,
                JobQueued(job_id=7, time=1.0, owner=None, store=True, request=request),
            ),
            Recorded(2, JobStarted(job_id=7, time=2.0)),
        ]
    )
    async with serve_app(journal=journal) as served:
        assert (await served.client.get("/_api/job/7")).status_code == 200
        result = await served.client.put("/_api/job/7")
        assert result.status_code == 503
        assert json.loads(await result.get_data()) == INTERRUPTED
        assert result.headers["x-arango-async-id"] == "7"
        assert any(isinstance(r.event, JobInterrupted) for r in journal.read())
        assert await submit(served.client, "GET", "/_api/version") == 8


async def test_started_job_of_rerun_safe_route_runs_again():
    """A job left started on a route marked rerun_safe is requeued at start-up
    and runs again instead of being interrupted."""
    journal = MemoryJournal()
    request = RecordedRequest(method="POST", path="/test/rerun")
    await journal.append(
        [
            Recorded(
                1,
                JobQueued(job_id=4, time=1.0, owner=None, store=True, request=request),
            ),
            Recorded(2, JobStarted(job_id=4, time=2.0)),
        ]
    )
    async with serve_app(journal=journal, setup=app_with_gates(Gates())) as served:
        await settle()
        result = await served.client.put("/_api/job/4")
        assert result.status_code == 200
        assert await result.get_data() == b"ran again"
    types = [type(r.event).__name__ for r in journal.read()]
    assert types == [
        "JobQueued",
        "JobStarted",
        "JobRequeued",
        "JobStarted",
        "JobDone",
        "JobFetched",
    ]


async def test_journal_with_an_illegal_transition_refuses_to_start():
    """A journal whose events do not follow from each other is reported as
    corrupt, naming the sequence number, and nothing is served."""
    journal = MemoryJournal()
    await journal.append([Recorded(1, JobStarted(job_id=3, time=1.0))])
    runtime = Runtime(Settings(journal=":memory:"), execute=None, journal=journal)  # type: ignore[arg-type]
    with pytest.raises(
        JournalCorrupt, match="sequence number 1: the event does not follow"
    ):
        await runtime.open()
