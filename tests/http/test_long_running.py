"""Long-running work through the app: worker processes, threads, timeouts,
progress and waiting (docs/long-running.md)."""

from __future__ import annotations

import json
import os
import time
from urllib.parse import unquote

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import (
    JobCancelled,
    JobCancelling,
    JobProgressed,
    JobQueued,
    JobTimedOut,
)
from tests.http.conftest import Gates, add_test_routes
from tests.http.long_routes import Threads, add_long_routes
from tests.support import ASYNC_STORE, serve_app, settle, submit

WAIT_LONG = {"x-eventjobs-wait": "30"}


@pytest.fixture
def threads():
    threads = Threads()
    yield threads
    for event in threads.release.values():  # never leave a thread blocked
        event.set()


def make_setup(gates: Gates, threads: Threads):
    def setup(app):
        add_test_routes(app, gates)
        add_long_routes(app, gates, threads)

    return setup


def serve(gates: Gates, threads: Threads, **settings: object):
    base = {"journal": ":memory:", "shutdown_timeout": 0, "worker_processes": 1}
    return serve_app(Settings(**{**base, **settings}), setup=make_setup(gates, threads))


def events_of(served, job_id: int, kind: type | None = None) -> list:
    return [
        record.event
        for record in served.journal.read()
        if record.event.job_id == job_id
        and (kind is None or isinstance(record.event, kind))
    ]


async def poll(predicate, seconds: float = 5.0) -> bool:
    """Bounded polling of real processes and threads: True once *predicate* holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await trio.sleep(0.005)
    return predicate()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def fetch_json(client, job_id: int, headers=None):
    response = await client.put(f"/_api/job/{job_id}", headers=headers or {})
    return response.status_code, json.loads(await response.get_data())


# -- worker processes ------------------------------------------------------------


async def test_process_job_returns_the_function_result(gates, threads):
    """A job calling run_in_process stores the handler's answer."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "GET", "/test/add?a=2&b=3")
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert (response.status_code, await response.get_data()) == (200, b"5")


async def test_synchronous_request_can_use_the_process_pool(gates, threads):
    """run_in_process works in a plain synchronous request too."""
    async with serve(gates, threads) as served:
        response = await served.client.get("/test/add?a=40&b=2")
        assert await response.get_data() == b"42"


async def test_cancelled_process_job_is_410_and_its_process_is_gone(
    gates, threads, tmp_path
):
    """Cancelling a CPU-bound job kills its worker within a second; result 410."""
    marker = tmp_path / "started"
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", f"/test/spin?marker={marker}")
        assert await poll(marker.exists)
        pid = int(marker.read_text())
        await served.client.put(f"/_api/job/{job}/cancel")
        assert await poll(lambda: not process_exists(pid), seconds=1.0)
        status, body = await fetch_json(served.client, job, WAIT_LONG)
        assert (status, body["errorNum"]) == (410, 21)


async def test_process_pool_keeps_working_after_a_cancelled_job(
    gates, threads, tmp_path
):
    """After a job's worker is killed, the next job gets a fresh one."""
    marker = tmp_path / "started"
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", f"/test/spin?marker={marker}")
        assert await poll(marker.exists)
        await served.client.put(f"/_api/job/{job}/cancel")
        second = await submit(served.client, "GET", "/test/add?a=1&b=2")
        response = await served.client.put(f"/_api/job/{second}", headers=WAIT_LONG)
        assert await response.get_data() == b"3"


async def test_unpicklable_function_gives_a_500_saying_why(gates, threads):
    """A lambda passed to run_in_process is a 500 naming the problem."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/lambda")
        status, body = await fetch_json(served.client, job, WAIT_LONG)
        assert status == 500
        assert "NotPicklable" in body["errorMessage"]
        assert "module level" in body["errorMessage"]


# -- threads ---------------------------------------------------------------------


async def test_cancelled_thread_job_reports_cancelling(gates, threads):
    """While its thread runs on, a cancelled job's 204 says cancelling."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/thread/a")
        await trio.to_thread.run_sync(threads.started["a"].wait, 10)
        await served.client.put(f"/_api/job/{job}/cancel")
        await settle()
        response = await served.client.get(f"/_api/job/{job}")
        assert response.status_code == 204
        assert response.headers["x-eventjobs-state"] == "cancelling"
        assert [e.reason for e in events_of(served, job, JobCancelling)] == ["cancel"]
        threads.release["a"].set()


async def test_thread_job_is_cancelled_once_its_thread_returns(gates, threads):
    """When the thread returns, the job is recorded cancelled with the 410."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/thread/a")
        await trio.to_thread.run_sync(threads.started["a"].wait, 10)
        await served.client.put(f"/_api/job/{job}/cancel")
        await settle()
        assert not events_of(served, job, JobCancelled)
        threads.release["a"].set()
        status, body = await fetch_json(served.client, job, WAIT_LONG)
        assert (status, body["errorNum"]) == (410, 21)
        kinds = [type(e) for e in events_of(served, job)]
        assert kinds.index(JobCancelling) < kinds.index(JobCancelled)


async def test_thread_job_that_is_not_cancelled_stores_its_answer(gates, threads):
    """An uncancelled thread job stores what its handler answered."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/thread/b")
        threads.release["b"].set()
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert await response.get_data() == b"thread b"


# -- timeouts ----------------------------------------------------------------------


async def test_timeout_header_stops_an_async_job_with_504(
    gates, threads, autojump_clock
):
    """x-eventjobs-timeout: an async job past it stores 504, errorNum 21."""
    async with serve(gates, threads) as served:
        job = await submit(
            served.client,
            "POST",
            "/test/wait/never",
            headers={"x-eventjobs-timeout": "2.5"},
        )
        status, body = await fetch_json(served.client, job, WAIT_LONG)
        assert (status, body["errorNum"], body["code"]) == (504, 21, 504)
        assert "timed out after 2.5 seconds" in body["errorMessage"]


async def test_timed_out_job_is_recorded_timed_out(gates, threads, autojump_clock):
    """The journal records a timed-out job as timed_out with its limit."""
    async with serve(gates, threads) as served:
        job = await submit(
            served.client,
            "POST",
            "/test/wait/never",
            headers={"x-eventjobs-timeout": "3"},
        )
        await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
        assert [e.timeout for e in events_of(served, job, JobTimedOut)] == [3.0]
        assert not events_of(served, job, JobCancelled)


async def test_timeout_counts_from_the_start_of_the_job(gates, threads, autojump_clock):
    """A job within its timeout finishes normally."""
    async with serve(gates, threads) as served:
        job = await submit(
            served.client,
            "POST",
            "/_admin/sleep?duration=4",
            headers={"x-eventjobs-timeout": "5"},
        )
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert response.status_code == 200


async def test_server_default_timeout_stops_an_async_job(
    gates, threads, autojump_clock
):
    """--job-timeout applies to jobs without the header."""
    async with serve(gates, threads, job_timeout=1.0) as served:
        job = await submit(served.client, "POST", "/test/wait/never")
        status, _body = await fetch_json(served.client, job, WAIT_LONG)
        assert status == 504


async def test_header_overrides_the_server_default_timeout(
    gates, threads, autojump_clock
):
    """A request's own timeout wins over --job-timeout."""
    async with serve(gates, threads, job_timeout=1.0) as served:
        job = await submit(
            served.client,
            "POST",
            "/_admin/sleep?duration=2",
            headers={"x-eventjobs-timeout": "3"},
        )
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert response.status_code == 200


async def test_timeout_header_kills_a_process_job(gates, threads, tmp_path):
    """A worker-process job past its timeout is killed and stores 504."""
    marker = tmp_path / "started"
    async with serve(gates, threads) as served:
        job = await submit(
            served.client,
            "POST",
            f"/test/spin?marker={marker}",
            headers={"x-eventjobs-timeout": "0.2"},
        )
        status, _body = await fetch_json(served.client, job, WAIT_LONG)
        assert status == 504
        assert await poll(
            lambda: not process_exists(int(marker.read_text())), seconds=1.0
        )


async def test_server_default_timeout_kills_a_process_job(gates, threads, tmp_path):
    """--job-timeout stops a worker-process job too."""
    marker = tmp_path / "started"
    async with serve(gates, threads, job_timeout=0.2) as served:
        job = await submit(served.client, "POST", f"/test/spin?marker={marker}")
        status, _body = await fetch_json(served.client, job, WAIT_LONG)
        assert status == 504


async def test_timed_out_thread_job_reports_cancelling_for_timeout(gates, threads):
    """A thread job past its timeout says cancelling, reason timeout."""
    async with serve(gates, threads) as served:
        job = await submit(
            served.client,
            "POST",
            "/test/thread/t",
            headers={"x-eventjobs-timeout": "0.05"},
        )
        await trio.to_thread.run_sync(threads.started["t"].wait, 10)
        assert await poll(lambda: bool(events_of(served, job, JobCancelling)))
        assert [(e.reason, e.by) for e in events_of(served, job, JobCancelling)] == [
            ("timeout", None)
        ]
        threads.release["t"].set()


async def test_server_default_timeout_ends_a_thread_job_as_timed_out(gates, threads):
    """Once its thread returns, a thread job past --job-timeout is timed out."""
    async with serve(gates, threads, job_timeout=0.05) as served:
        job = await submit(served.client, "POST", "/test/thread/t")
        await trio.to_thread.run_sync(threads.started["t"].wait, 10)
        assert await poll(lambda: bool(events_of(served, job, JobCancelling)))
        threads.release["t"].set()
        status, _body = await fetch_json(served.client, job, WAIT_LONG)
        assert status == 504


@pytest.mark.parametrize("value", ["", "abc", "-1", "0", "1e3", "inf", "nan", "1,5"])
async def test_bad_timeout_header_is_400_and_queues_nothing(gates, threads, value):
    """A malformed x-eventjobs-timeout is 400 bad parameter; no job is made."""
    async with serve(gates, threads) as served:
        response = await served.client.post(
            "/_admin/echo", headers={**ASYNC_STORE, "x-eventjobs-timeout": value}
        )
        assert response.status_code == 400
        assert json.loads(await response.get_data())["errorNum"] == 400
        assert not any(isinstance(r.event, JobQueued) for r in served.journal.read())


# -- progress ----------------------------------------------------------------------


async def test_progress_is_shown_on_the_pending_status(gates, threads, autojump_clock):
    """The 204 of a pending job carries its latest progress."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/progress/1")
        await settle()
        response = await served.client.get(f"/_api/job/{job}")
        assert response.status_code == 204
        value = response.headers["x-eventjobs-progress"]
        fraction, message = value.split("; ")
        assert float(fraction) == 1.0
        assert unquote(message) == 'message="step 1"'
        gates.open("progress")


async def test_progress_is_shown_on_a_pending_fetch(gates, threads, autojump_clock):
    """PUT of a pending job answers 204 with its progress too."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/progress/1")
        await settle()
        response = await served.client.put(f"/_api/job/{job}")
        assert response.status_code == 204
        assert "x-eventjobs-progress" in response.headers
        gates.open("progress")


async def test_chatty_progress_is_throttled_to_first_and_last(
    gates, threads, autojump_clock
):
    """100 reports in one instant journal only the first and, later, the last."""
    async with serve(gates, threads, progress_interval=1.0) as served:
        job = await submit(served.client, "POST", "/test/progress/100")
        await settle()
        assert [e.message for e in events_of(served, job, JobProgressed)] == ["step 1"]
        await trio.sleep(1.0)
        await settle()
        assert [e.message for e in events_of(served, job, JobProgressed)] == [
            "step 1",
            "step 100",
        ]
        gates.open("progress")


async def test_held_back_progress_is_recorded_before_the_job_ends(
    gates, threads, autojump_clock
):
    """A report still held by the throttle is journaled before `done`."""
    async with serve(gates, threads, progress_interval=60.0) as served:
        job = await submit(served.client, "POST", "/test/progress/3")
        await settle()
        gates.open("progress")
        await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
        kinds = [
            (type(e).__name__, getattr(e, "message", None))
            for e in events_of(served, job)
        ]
        assert kinds[-3:] == [
            ("JobProgressed", "step 1"),
            ("JobProgressed", "step 3"),
            ("JobDone", None),
        ]


async def test_progress_from_a_thread_is_recorded(gates, threads):
    """report_progress works from a function running in run_in_thread."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/thread-progress")
        assert await poll(lambda: gates.waiting["thread-progress"] == 1)
        await settle()  # let the writer append what is recorded
        assert [e.fraction for e in events_of(served, job, JobProgressed)] == [0.5]
        gates.open("thread-progress")


async def test_finished_job_status_has_no_progress_header(
    gates, threads, autojump_clock
):
    """Once done, the status answer is the spec's plain 200."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/progress/2")
        await settle()
        gates.open("progress")
        response = await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
        assert response.status_code == 200
        assert "x-eventjobs-progress" not in response.headers


# -- waiting -----------------------------------------------------------------------


async def test_wait_on_status_returns_as_soon_as_the_job_finishes(
    gates, threads, autojump_clock
):
    """GET with x-eventjobs-wait answers 200 the moment the job is done."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/wait/w")
        answered_at: list[float] = []

        async def status() -> None:
            response = await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
            answered_at.append(trio.current_time())
            assert response.status_code == 200

        async with trio.open_nursery() as nursery:
            nursery.start_soon(status)
            await trio.sleep(7)
            assert answered_at == []
            opened_at = trio.current_time()
            gates.open("w")
        assert answered_at == [opened_at]


async def test_wait_on_fetch_returns_the_result(gates, threads, autojump_clock):
    """PUT with x-eventjobs-wait answers with the stored result once done."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/_admin/sleep?duration=5")
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert response.status_code == 200
        assert response.headers["x-arango-async-id"] == str(job)


async def test_wait_that_runs_out_answers_204(gates, threads, autojump_clock):
    """When the wait is over first, the answer is the pending 204."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/wait/never")
        start = trio.current_time()
        response = await served.client.get(
            f"/_api/job/{job}", headers={"x-eventjobs-wait": "4"}
        )
        assert response.status_code == 204
        assert trio.current_time() - start == pytest.approx(4)


async def test_wait_is_capped_by_max_wait(gates, threads, autojump_clock):
    """A wait longer than --max-wait ends at --max-wait."""
    async with serve(gates, threads, max_wait=2.0) as served:
        job = await submit(served.client, "POST", "/test/wait/never")
        start = trio.current_time()
        response = await served.client.put(
            f"/_api/job/{job}", headers={"x-eventjobs-wait": "100"}
        )
        assert response.status_code == 204
        assert trio.current_time() - start == pytest.approx(2)


async def test_wait_on_an_unknown_job_is_404_at_once(gates, threads, autojump_clock):
    """Waiting on a job that does not exist answers 404 without waiting."""
    async with serve(gates, threads) as served:
        start = trio.current_time()
        response = await served.client.get("/_api/job/99", headers=WAIT_LONG)
        assert response.status_code == 404
        assert trio.current_time() == start


async def test_wait_ends_when_the_job_is_deleted(gates, threads, autojump_clock):
    """A waiting status query answers 404 as soon as the job is deleted."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/wait/never")
        codes: list[int] = []

        async def status() -> None:
            response = await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
            codes.append(response.status_code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(status)
            await trio.sleep(1)
            await served.client.delete(f"/_api/job/{job}")
        assert codes == [404]


async def test_disconnected_waiter_leaves_the_job_alone(gates, threads, autojump_clock):
    """A waiting client that goes away changes nothing; the job finishes normally."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/wait/w")
        with trio.move_on_after(1):
            await served.client.get(f"/_api/job/{job}", headers=WAIT_LONG)
        gates.open("w")
        response = await served.client.put(f"/_api/job/{job}", headers=WAIT_LONG)
        assert (response.status_code, await response.get_data()) == (201, b"released w")


@pytest.mark.parametrize("value", ["soon", "-1", "1e2", "nan", ""])
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_bad_wait_header_is_400(gates, threads, method, value):
    """A malformed x-eventjobs-wait is 400 bad parameter."""
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/_admin/echo")
        response = await served.client.open(
            f"/_api/job/{job}", method=method, headers={"x-eventjobs-wait": value}
        )
        assert response.status_code == 400
        assert json.loads(await response.get_data())["errorNum"] == 400


# -- shutdown ----------------------------------------------------------------------


async def test_shutdown_interrupts_a_process_job_and_kills_its_worker(
    gates, threads, tmp_path
):
    """At shutdown a worker-process job is recorded interrupted; its process is gone."""
    from eventjobs.events import JobInterrupted

    marker = tmp_path / "started"
    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", f"/test/spin?marker={marker}")
        assert await poll(marker.exists)
    assert [type(e) for e in events_of(served, job)][-1] is JobInterrupted
    assert await poll(lambda: not process_exists(int(marker.read_text())), seconds=1.0)


async def test_shutdown_does_not_wait_for_a_cancelling_thread_job(gates, threads):
    """A thread job still cancelling at shutdown is interrupted; the server stops."""
    from eventjobs.events import JobInterrupted

    async with serve(gates, threads) as served:
        job = await submit(served.client, "POST", "/test/thread/stuck")
        await trio.to_thread.run_sync(threads.started["stuck"].wait, 10)
        await served.client.put(f"/_api/job/{job}/cancel")
        await settle()
    kinds = [type(e) for e in events_of(served, job)]
    assert kinds[-2:] == [JobCancelling, JobInterrupted]
