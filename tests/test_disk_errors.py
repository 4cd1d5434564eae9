"""A journal that cannot be written: clear 503s, nothing half-written, reads
go on, and the server recovers by itself once the disk takes writes again."""

from __future__ import annotations

import errno
import json
import os

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobInterrupted, JobQueued, JobStarted, RecordedRequest
from eventjobs.journal import FileJournal, Recorded
from eventjobs.journal.segments import read_records
from tests.http.conftest import Gates, add_test_routes
from tests.support import ASYNC_STORE, serve_app


async def wait_status(client, job_id, status):
    with trio.fail_after(10):  # the file journal syncs in a worker thread
        while (await client.get(f"/_api/job/{job_id}")).status_code != status:
            await trio.sleep(0.005)


def disk_full(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def gates():
    return Gates()


@pytest.fixture
async def served(tmp_path, gates):
    journal = FileJournal.open(tmp_path / "journal")
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(
        settings, journal=journal, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        yield served
    await journal.aclose()


async def test_failed_append_answers_503_and_keeps_reads(served, tmp_path, monkeypatch):
    """When fdatasync fails (disk full), the submission gets a 503 naming the
    problem, no partial record stays on disk, and status queries still work."""
    response = await served.client.get("/_api/version", headers=ASYNC_STORE)
    job_id = response.headers["x-arango-async-id"]
    await wait_status(served.client, job_id, 200)
    # Status 200 shows once `done` is applied, which may be before its batch
    # is synced: a fault injected now would fail that batch too.
    await served.runtime.flush()
    durable = [r.seq for r in read_records(tmp_path / "journal")]

    monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
    refused = await served.client.get("/_api/version", headers=ASYNC_STORE)
    assert refused.status_code == 503
    body = json.loads(await refused.get_data())
    assert "journal cannot be written" in body["errorMessage"]
    assert "No space left on device" in body["errorMessage"]
    assert "x-arango-async-id" not in refused.headers
    assert (await served.client.get(f"/_api/job/{job_id}")).status_code == 200
    assert (await served.client.get("/_api/job/done")).status_code == 200
    fetch = await served.client.put(f"/_api/job/{job_id}")
    assert fetch.status_code == 503  # a fetch must be recorded before it is answered
    message = json.loads(await fetch.get_data())["errorMessage"]
    assert message.startswith("the journal is unavailable, so nothing was changed: ")
    assert "No space left on device" in message
    assert [r.seq for r in read_records(tmp_path / "journal")] == durable


async def test_server_recovers_once_the_disk_takes_writes(
    served, gates, tmp_path, monkeypatch
):
    """After the fault clears, new jobs are accepted again by themselves; a
    job that finished during the outage keeps its result; the refused job
    does not exist; the journal reads back cleanly."""
    running = (await served.client.post("/test/wait/g", headers=ASYNC_STORE)).headers
    running_id = running["x-arango-async-id"]
    await wait_status(served.client, running_id, 204)
    with trio.fail_after(10):
        while gates.waiting["g"] == 0:  # its `started` must be durable first
            await trio.sleep(0.005)

    monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
    refused = await served.client.put(
        "/_admin/echo", data=b"refused", headers=ASYNC_STORE
    )
    assert refused.status_code == 503
    gates.open("g")  # finishes during the outage: its `done` must not be lost
    await trio.sleep(0.05)
    monkeypatch.undo()

    with trio.fail_after(15):
        while True:
            accepted = await served.client.put(
                "/_admin/echo", data=b"after", headers=ASYNC_STORE
            )
            if accepted.status_code == 202:
                break
            assert accepted.status_code == 503
            await trio.sleep(0.02)
    await wait_status(served.client, running_id, 200)
    result = await served.client.put(f"/_api/job/{running_id}")
    assert await result.get_data() == b"released g"
    bodies = [
        r.event.request.body
        for r in read_records(tmp_path / "journal")
        if isinstance(r.event, JobQueued)
    ]
    assert b"refused" not in bodies and b"after" in bodies
    assert served.runtime.statistics().writer.failed_appends >= 1


async def test_a_disk_that_fails_at_start_up_leaves_the_server_serving(
    tmp_path, monkeypatch
):
    """The recovery's own events (a job found running is interrupted) meet a
    failing disk: the server starts anyway, not ready and saying why; the
    interrupted result is kept and written once the disk takes writes."""
    directory = tmp_path / "journal"
    journal = FileJournal.open(directory)
    request = RecordedRequest(method="POST", path="/_admin/echo")
    await journal.append(
        [
            Recorded(
                1,
                JobQueued(job_id=1, time=1.0, owner=None, store=True, request=request),
            ),
            Recorded(2, JobStarted(job_id=1, time=2.0)),
        ]
    )
    await journal.aclose()
    monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
    settings = Settings(journal=str(directory), shutdown_timeout=0)
    async with serve_app(settings) as served:
        ready = await served.client.get("/_eventjobs/ready")
        assert ready.status_code == 503
        assert (
            "journal cannot be written" in json.loads(await ready.get_data())["reason"]
        )
        assert (
            await served.client.get("/_api/job/1")
        ).status_code == 200  # interrupted
        monkeypatch.undo()
        with trio.fail_after(15):
            while (await served.client.get("/_eventjobs/ready")).status_code != 200:
                await trio.sleep(0.01)
            await served.runtime.flush()
    assert [type(r.event) for r in read_records(directory)] == [
        JobQueued,
        JobStarted,
        JobInterrupted,
    ]
