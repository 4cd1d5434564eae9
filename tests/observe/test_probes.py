"""/_eventjobs/health and /_eventjobs/ready in-process: open to everyone,
never queued, and ready says why it is not."""

from __future__ import annotations

import errno
import json
import os
import threading

import pytest
import trio

import eventjobs.journal.file

from eventjobs import Settings, create_app, runtime_of
from eventjobs.runtime import Runtime
from eventjobs.events import JobQueued, JobStarted, RecordedRequest
from eventjobs.journal import FileJournal, MemoryJournal, Recorded
from tests.observe.support import scrape, value
from tests.support import ASYNC_STORE, auth_settings, serve_app, settle


async def test_health_and_ready_answer_200_with_small_json():
    async with serve_app() as served:
        health = await served.client.get("/_eventjobs/health")
        assert health.status_code == 200
        assert await health.get_json() == {"alive": True}
        ready = await served.client.get("/_eventjobs/ready")
        assert ready.status_code == 200
        assert await ready.get_json() == {"ready": True}


async def test_probes_need_no_credentials_when_authentication_is_on(tmp_path):
    async with serve_app(auth_settings(tmp_path)) as served:
        for path in (
            "/_eventjobs/health",
            "/_eventjobs/ready",
            "/_db/_system/_eventjobs/ready",
        ):
            assert (await served.client.get(path)).status_code == 200, path
        # ... unlike the rest of the API.
        assert (await served.client.get("/_api/job/pending")).status_code == 401


async def test_probes_are_never_queued_as_jobs():
    async with serve_app() as served:
        for path in ("/_eventjobs/health", "/_eventjobs/ready"):
            response = await served.client.get(path, headers=ASYNC_STORE)
            assert response.status_code == 200
            assert "x-arango-async-id" not in response.headers
        assert served.journal.head == 0


async def test_ready_is_503_before_the_runtime_runs_and_while_it_shuts_down():
    """Readiness as the runtime's life goes: starting, serving, shutting down."""
    app = create_app(Settings(journal=":memory:", shutdown_timeout=0))
    runtime = runtime_of(app)
    before = runtime.readiness()
    assert not before.ready
    assert before.reason.startswith("the server is starting")
    async with app.test_app():
        assert runtime.readiness().ready
    after = runtime.readiness()
    assert (after.ready, after.reason) == (False, "the server is shutting down")


@pytest.fixture
async def failing_disk(tmp_path, monkeypatch):
    """A file journal whose fdatasync fails (disk full), with a back-off long
    enough that the failure is still current when the test looks."""
    monkeypatch.setattr("eventjobs.actors.writing.FIRST_BACKOFF", 2.0)
    journal = FileJournal.open(tmp_path / "journal")
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(settings, journal=journal) as served:

        def disk_full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
        yield served
        monkeypatch.undo()
    await journal.aclose()


async def test_ready_is_503_with_the_append_error_while_the_journal_fails(failing_disk):
    served = failing_disk
    refused = await served.client.get("/_api/version", headers=ASYNC_STORE)
    assert refused.status_code == 503
    ready = await served.client.get("/_eventjobs/ready")
    assert ready.status_code == 503
    body = json.loads(await ready.get_data())
    assert body["ready"] is False
    assert body["reason"].startswith("the journal cannot be written")
    assert "No space left on device" in body["reason"]
    # The process is alive all the same, and says so.
    assert (await served.client.get("/_eventjobs/health")).status_code == 200
    samples = await scrape(served.client)
    assert value(samples, "eventjobs_ready") == 0
    assert value(samples, "eventjobs_journal_append_failures_total") == 1
    assert (
        value(samples, "eventjobs_requests_refused_total", reason="journal_unavailable")
        == 1
    )


async def test_an_app_replaying_in_the_background_becomes_ready():
    """``replay_in_background=True`` (what ``eventjobs serve`` uses): the app
    serves before the runtime runs, and is ready once it does."""
    app = create_app(
        Settings(journal=":memory:", shutdown_timeout=0), replay_in_background=True
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await settle()
        assert (await client.get("/_eventjobs/ready")).status_code == 200
        accepted = await client.put("/_admin/echo", headers=ASYNC_STORE, data=b"x")
        assert accepted.status_code == 202


async def test_a_journal_that_does_not_replay_makes_health_and_ready_fail(caplog):
    """A record that does not follow from the journal before it: the
    runtime can never serve; the probes and the job API say why."""
    journal = MemoryJournal()
    await journal.append([Recorded(1, JobStarted(job_id=1, time=0.0))])  # never queued
    app = create_app(
        Settings(journal=":memory:", shutdown_timeout=0),
        journal=journal,
        replay_in_background=True,
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await settle()
        health = await client.get("/_eventjobs/health")
        assert health.status_code == 503
        reason = (await health.get_json())["reason"]
        assert reason.startswith("the journal cannot be read: ")
        assert "sequence number 1: the event does not follow" in reason
        ready = await client.get("/_eventjobs/ready")
        assert (ready.status_code, (await ready.get_json())["reason"]) == (503, reason)
        refused = await client.get("/_api/job/pending")
        assert refused.status_code == 503
        assert json.loads(await refused.get_data())["errorMessage"] == reason
    assert any(
        record.levelname == "CRITICAL"
        and "eventjobs cannot serve jobs" in record.getMessage()
        for record in caplog.records
    )


async def test_while_the_replay_runs_the_job_api_says_so_and_ready_is_503(
    tmp_path, monkeypatch
):
    """The replay held at the file layer (its first read waits for the test):
    probes answer, the job API and new jobs get 503 "the server is
    starting", and all of it serves once the replay is let go."""
    directory = tmp_path / "journal"
    async with serve_app(
        Settings(journal=str(directory), shutdown_timeout=0)
    ) as served:
        response = await served.client.put(
            "/_admin/echo", headers=ASYNC_STORE, data=b"kept"
        )
        job_id = response.headers["x-arango-async-id"]
        with trio.fail_after(10):
            while (await served.client.get(f"/_api/job/{job_id}")).status_code != 200:
                await trio.sleep(0.01)
    released = threading.Event()
    read_records = eventjobs.journal.file.read_records

    def held_read_records(*args, **kwargs):
        released.wait()
        yield from read_records(*args, **kwargs)

    monkeypatch.setattr("eventjobs.journal.file.read_records", held_read_records)
    app = create_app(
        Settings(journal=str(directory), shutdown_timeout=0), replay_in_background=True
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        try:
            ready = await client.get("/_eventjobs/ready")
            assert ready.status_code == 503
            assert json.loads(await ready.get_data())["reason"].startswith(
                "the server is starting"
            )
            assert (await client.get("/_eventjobs/health")).status_code == 200
            for refused in (
                await client.get(f"/_api/job/{job_id}"),
                await client.get("/_api/job/done"),
                await client.put("/_admin/echo", headers=ASYNC_STORE, data=b"new"),
            ):
                assert refused.status_code == 503
                body = json.loads(await refused.get_data())
                assert (body["errorNum"], body["errorMessage"][:22]) == (
                    503,
                    "the server is starting",
                )
                assert "x-arango-async-id" not in refused.headers
        finally:
            released.set()
        with trio.fail_after(10):
            while (await client.get("/_eventjobs/ready")).status_code != 200:
                await trio.sleep(0.01)
        fetched = await client.put(f"/_api/job/{job_id}")
        assert fetched.status_code == 200
        assert json.loads(await fetched.get_data())["body"] == "kept"


async def test_a_shutdown_during_the_replay_leaves_queued_jobs_queued(
    tmp_path, monkeypatch
):
    """SIGTERM while the journal is replayed: the runtime stops without
    serving, even when the replay ends before it looks at the request (a
    short replay never does): a job found queued is not started, so not
    interrupted, and runs at the next start as the recovery rules say."""
    directory = tmp_path / "journal"
    journal = FileJournal.open(directory)
    request = RecordedRequest(method="POST", path="/_admin/echo")
    await journal.append(
        [
            Recorded(
                1,
                JobQueued(job_id=1, time=1.0, owner=None, store=True, request=request),
            )
        ]
    )
    await journal.aclose()
    entered, released = threading.Event(), threading.Event()
    read_records = eventjobs.journal.file.read_records

    def held_read_records(*args, **kwargs):
        entered.set()
        released.wait()
        yield from read_records(*args, **kwargs)

    monkeypatch.setattr("eventjobs.journal.file.read_records", held_read_records)

    async def execute(job):
        await trio.sleep_forever()

    runtime = Runtime(Settings(journal=str(directory), shutdown_timeout=0), execute)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(runtime.run)
            with trio.fail_after(10):
                while not entered.is_set():  # the journal is being read
                    await trio.sleep(0.001)
            await runtime.shutdown()
            released.set()
    finally:
        released.set()
    monkeypatch.undo()
    assert not runtime.running
    assert [type(r.event) for r in read_records(directory)] == [JobQueued]
