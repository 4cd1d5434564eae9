"""Job actors under the supervisor: limits, order, cancellation, shutdown."""

from __future__ import annotations

import json

import trio

from eventjobs import Settings
from eventjobs.events import JobCancelled, JobInterrupted, JobStarted
from tests.http.conftest import Gates, add_test_routes
from tests.support import serve_app, settle, submit


def events_of(served, job_id):
    return [
        type(r.event).__name__
        for r in served.journal.read()
        if r.event.job_id == job_id
    ]


def limited(max_running, gates):
    return serve_app(
        Settings(journal=":memory:", max_running=max_running, shutdown_timeout=0),
        setup=lambda app: add_test_routes(app, gates),
    )


async def test_cancelled_sleep_really_stops(mock_clock):
    """Cancelling a running /_admin/sleep job ends it with the 410 result at
    once: trio time does not move, so only the cancel can have ended it."""
    async with serve_app() as served:
        job_id = await submit(served.client, "GET", "/_admin/sleep?duration=1000")
        await settle()
        assert served.runtime.table.running_count == 1
        before = trio.current_time()
        await served.client.put(f"/_api/job/{job_id}/cancel")
        await settle()
        assert trio.current_time() == before
        assert served.runtime.table.running_count == 0
        result = await served.client.put(f"/_api/job/{job_id}")
        assert result.status_code == 410
        assert events_of(served, job_id) == [
            "JobQueued",
            "JobStarted",
            "JobCancelled",
            "JobFetched",
        ]


async def test_cancelled_sleeps_running_and_queued_both_end_410(mock_clock):
    """Behind --max-running 1: cancelling the queued sleep and the running one
    ends both with the 410 result, with no trio time passing."""
    settings = Settings(journal=":memory:", max_running=1, shutdown_timeout=0)
    async with serve_app(settings) as served:
        running = await submit(served.client, "GET", "/_admin/sleep?duration=1000")
        queued = await submit(served.client, "GET", "/_admin/sleep?duration=1000")
        await settle()
        before = trio.current_time()
        for job_id in (queued, running):
            assert (
                await served.client.put(f"/_api/job/{job_id}/cancel")
            ).status_code == 200
        await settle()
        assert trio.current_time() == before
        for job_id in (running, queued):
            assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 410
        assert events_of(served, queued) == ["JobQueued", "JobCancelled", "JobFetched"]


async def test_job_queued_behind_max_running_is_cancelled_without_running():
    """With max_running 1, a queued job cancelled stores 410 and never starts."""
    gates = Gates()
    async with limited(1, gates) as served:
        first = await submit(served.client, "POST", "/test/wait/first")
        second = await submit(served.client, "POST", "/test/wait/second")
        await settle()
        assert gates.waiting == {"first": 1}
        response = await served.client.put(f"/_api/job/{second}/cancel")
        assert response.status_code == 200
        assert (await served.client.put(f"/_api/job/{second}")).status_code == 410
        gates.open("first")
        await settle()
        assert gates.waiting["second"] == 0 and "second" not in gates.cancelled
        assert events_of(served, second) == ["JobQueued", "JobCancelled", "JobFetched"]
        assert (await served.client.get(f"/_api/job/{first}")).status_code == 200


async def test_cancel_of_queued_job_records_who_asked():
    """The cancelled event carries the 410 result and the canceller."""
    gates = Gates()
    async with limited(1, gates) as served:
        await submit(served.client, "POST", "/test/wait/first")
        second = await submit(served.client, "POST", "/test/wait/second")
        await served.client.put(f"/_api/job/{second}/cancel")
        (cancelled,) = [
            r.event for r in served.journal.read() if isinstance(r.event, JobCancelled)
        ]
        assert cancelled.job_id == second
        assert cancelled.by is None  # authentication off: nobody in particular
        assert json.loads(cancelled.response.body)["errorNum"] == 21


async def test_max_running_bounds_concurrency_and_starts_in_order():
    """At most max_running jobs run; the rest start first in, first out."""
    gates = Gates()
    async with limited(2, gates) as served:
        ids = [await submit(served.client, "POST", f"/test/wait/{n}") for n in range(5)]
        await settle()
        assert sum(gates.waiting.values()) == 2
        for n in range(5):
            gates.open(str(n))
            await settle()
            assert sum(gates.waiting.values()) <= 2
        started = [
            r.event.job_id
            for r in served.journal.read()
            if isinstance(r.event, JobStarted)
        ]
        assert started == ids


async def test_shutdown_interrupts_running_jobs_and_keeps_queued_ones():
    """At shutdown (timeout 0) a running job is recorded interrupted with the
    503 result; a queued one stays queued for the next start."""
    gates = Gates()
    async with limited(1, gates) as served:
        running = await submit(served.client, "POST", "/test/wait/a")
        queued = await submit(served.client, "POST", "/test/wait/b")
        await settle()
    assert gates.cancelled == ["a"]
    events = [r.event for r in served.journal.read()]
    (interrupted,) = [e for e in events if isinstance(e, JobInterrupted)]
    assert interrupted.job_id == running
    assert json.loads(interrupted.response.body) == {
        "code": 503,
        "error": True,
        "errorMessage": "job interrupted: the server stopped while it ran",
        "errorNum": 30,
    }
    assert events_of(served, queued) == ["JobQueued"]


async def test_shutdown_lets_running_jobs_finish_within_the_timeout(autojump_clock):
    """Jobs that finish before shutdown_timeout are recorded done, not interrupted."""
    settings = Settings(journal=":memory:", shutdown_timeout=5)
    async with serve_app(settings) as served:
        job_id = await submit(served.client, "GET", "/_admin/sleep?duration=2")
        await settle()
    assert events_of(served, job_id) == ["JobQueued", "JobStarted", "JobDone"]


async def test_teardown_from_outside_does_not_wait_for_a_stuck_thread():
    """Cancelled from outside, the runtime abandons a thread job still
    cancelling and records it interrupted instead of hanging."""
    import threading

    from eventjobs import run_in_thread
    from eventjobs.events import JobCancelling, RecordedRequest, RecordedResponse
    from eventjobs.identity import ANONYMOUS
    from eventjobs.journal import MemoryJournal
    from eventjobs.runtime import Runtime
    from tests import functions

    release, started = threading.Event(), threading.Event()

    async def execute(job):
        await run_in_thread(functions.wait_for, release, started, "never")
        return RecordedResponse(status=200)

    journal = MemoryJournal()
    runtime = Runtime(Settings(journal=":memory:"), execute, journal=journal)
    try:
        with trio.fail_after(20):  # a guard, never reached when the code is right
            async with trio.open_nursery() as nursery:
                await nursery.start(runtime.run)
                job_id = await runtime.jobs.submit(
                    RecordedRequest(method="POST", path="/stuck"), ANONYMOUS, store=True
                )
                await trio.to_thread.run_sync(started.wait, 10)
                await runtime.jobs.cancel(job_id, ANONYMOUS)
                await settle()
                nursery.cancel_scope.cancel()
    finally:
        release.set()
    kinds = [type(r.event) for r in journal.read() if r.event.job_id == job_id]
    assert kinds[-2:] == [JobCancelling, JobInterrupted]
