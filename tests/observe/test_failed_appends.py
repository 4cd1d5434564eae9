"""Metrics, the job log and the live feed after failed appends: they tell
what the journal holds. An event whose batch is lost (a refused submission)
is never counted, logged or streamed; an event the writer keeps and appends
again (how a job ended) is counted, logged and streamed once."""

from __future__ import annotations

import logging

import trio

from eventjobs import Settings
from eventjobs.errors import JournalUnavailable
from eventjobs.http.live import feed_of
from eventjobs.identity import Caller
from eventjobs.journal import FileJournal
from tests.http.conftest import Gates, add_test_routes
from tests.observe.support import scrape, value
from tests.observe.test_logs import transitions
from tests.support import ASYNC_STORE, serve_app
from tests.test_disk_errors import disk_full


async def test_lost_and_retried_events_are_observed_as_the_journal_holds_them(
    tmp_path, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="eventjobs.jobs")
    gates = Gates()
    journal = FileJournal.open(tmp_path / "journal")
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(
        settings, journal=journal, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        feed = feed_of(served.app).subscribe(Caller(None, superuser=True))
        running = await served.client.post("/test/wait/g", headers=ASYNC_STORE)
        running_id = int(running.headers["x-arango-async-id"])
        with trio.fail_after(10):
            while gates.waiting["g"] == 0:
                await trio.sleep(0.005)
        await served.runtime.flush()  # its `started` is durable

        monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
        refused = await served.client.put(
            "/_admin/echo", data=b"lost", headers=ASYNC_STORE
        )
        assert refused.status_code == 503
        failures = served.runtime.statistics().writer.failed_appends
        gates.open("g")
        # The job's `done` is kept by the writer and appended again; let
        # at least one more append fail with it in the batch.
        with trio.fail_after(10):
            while served.runtime.statistics().writer.failed_appends < failures + 2:
                await trio.sleep(0.005)
        monkeypatch.undo()
        with trio.fail_after(15):
            while True:
                try:
                    await served.runtime.flush()
                    break
                except JournalUnavailable:
                    await trio.sleep(0.01)
            while (
                await served.client.get(f"/_api/job/{running_id}")
            ).status_code != 200:
                await trio.sleep(0.01)
            await served.runtime.flush()

        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_submitted_total") == 1
        assert value(samples, "eventjobs_jobs_finished_total", status_class="2xx") == 1
        assert value(samples, "eventjobs_job_run_seconds_count") == 1
        streamed = []
        while True:
            try:
                streamed.append(feed.receive.receive_nowait())
            except trio.WouldBlock:
                break
    assert transitions(caplog) == [
        (running_id, "queued"),
        (running_id, "started"),
        (running_id, "done"),
    ]
    # The stream opened before the first job: it saw what the journal holds.
    assert [(line["job"], line["type"]) for line in streamed] == [
        (running_id, "queued"),
        (running_id, "started"),
        (running_id, "done"),
    ]
    await journal.aclose()
