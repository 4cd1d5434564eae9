"""python-arango-async (the asyncio ArangoDB driver) against a real
eventjobs server process, using its async job API as a user would.

The suite runs under trio; each test drives the asyncio client with
``asyncio.run`` from a plain synchronous test function.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from arangoasync import ArangoClient
from arangoasync.auth import Auth
from arangoasync.database import AsyncDatabase, StandardDatabase
from arangoasync.exceptions import (
    AsyncJobCancelError,
    AsyncJobClearError,
    AsyncJobResultError,
    AsyncJobStatusError,
    CollectionListError,
)
from arangoasync.job import AsyncJob
from arangoasync.request import Method, Request
from arangoasync.response import Response

from tests.e2e.helpers import journal_events
from tests.support import ServerProcess, journal_dir, server_process

pytestmark = [
    pytest.mark.e2e,
    # The driver's own use of aiohttp; nothing to do with eventjobs.
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:The 'auth' parameter is deprecated:DeprecationWarning"
    ),
]

T = TypeVar("T")

Scenario = Callable[[StandardDatabase, AsyncDatabase], Awaitable[None]]

CANCELED_BODY = {
    "code": 410,
    "error": True,
    "errorMessage": "canceled request",
    "errorNum": 21,
}


# -- helpers ---------------------------------------------------------------------


async def wait_until(
    predicate: Callable[[], Awaitable[T]], what: str, timeout: float = 10.0
) -> T:
    """Poll the async *predicate* until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def wait_done(job: AsyncJob[Any], timeout: float = 10.0) -> None:
    async def done() -> bool:
        return await job.status() == "done"

    await wait_until(done, f"job {job.id} to be done", timeout)


async def wait_journal(journal: Path, kind: str, job_id: int | str) -> None:
    """Wait until the journal holds a *kind* event of *job_id*."""

    async def recorded() -> bool:
        return any(
            event.get("type") == kind and event.get("job") == int(job_id)
            for event in journal_events(journal)
        )

    await wait_until(recorded, f"a {kind!r} event of job {job_id} in the journal")


async def submit_sleep(adb: AsyncDatabase, duration: float | str) -> AsyncJob[Response]:
    """``GET /_admin/sleep?duration=...`` as a job, with the driver's own
    custom-request call; its result is the raw Response."""
    job = await adb.request(
        Request(
            method=Method.GET, endpoint="/_admin/sleep", params={"duration": duration}
        )
    )
    assert isinstance(job, AsyncJob)
    return job


def run(server: ServerProcess, scenario: Scenario) -> None:
    """Connect the asyncio client to *server* and run *scenario* with it."""

    async def main() -> None:
        async with ArangoClient(hosts=server.url) as client:
            db = await client.db(
                "_system", auth=Auth(username="root", password=""), verify=True
            )
            await scenario(db, db.begin_async_execution(return_result=True))

    asyncio.run(main())


# -- fixtures --------------------------------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return Path(journal_dir(tmp_path))


@pytest.fixture
def server(journal: Path) -> Iterator[ServerProcess]:
    # Leftover sleep jobs are interrupted at once when the test ends.
    with server_process("--journal", str(journal), "--shutdown-timeout", "0") as server:
        yield server


# -- submitting and fetching -----------------------------------------------------


def test_collections_job_returns_the_collection_list(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        assert isinstance(job, AsyncJob)
        assert job.id.isdigit() and int(job.id) >= 1
        await wait_done(job)
        assert await job.result() == []

    run(server, scenario)


def test_version_job_result_equals_the_synchronous_answer(
    server: ServerProcess,
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.version()
        await wait_done(job)
        assert await job.result() == await db.version()

    run(server, scenario)


def test_time_job_returns_the_time_it_ran(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        before = time.time()
        job = await adb.time()
        await wait_done(job)
        ran_at = (await job.result()).timestamp()
        assert before - 1 <= ran_at <= time.time() + 1

    run(server, scenario)


def test_echo_job_sees_the_request_a_synchronous_call_sees(
    server: ServerProcess,
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        body = {"greeting": "hello", "n": [1, 2, 3]}
        synchronous = await db.echo(body)
        job = await adb.echo(body)
        await wait_done(job)
        replayed = await job.result()
        unrecorded = {"x-arango-async", "authorization"}  # by design, spec 1.3
        assert "authorization" in synchronous["headers"]
        assert not unrecorded & set(replayed["headers"])

        def comparable(echo: dict[str, Any]) -> dict[str, Any]:
            headers = {
                name: value
                for name, value in echo["headers"].items()
                if name not in unrecorded
            }
            return {**echo, "headers": headers}

        assert comparable(replayed) == comparable(synchronous)
        # (this driver sends a dict form-encoded: the body is not JSON)
        assert replayed["body"] == synchronous["body"] != ""

    run(server, scenario)


def test_handler_error_is_the_stored_result(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await submit_sleep(adb, -1)
        await wait_done(job)
        response = await job.result()
        assert response.status_code == 400
        assert response.error_code == 400
        assert response.error_message.startswith("bad parameter: duration")
        assert response.headers["x-arango-async-id"] == job.id

    run(server, scenario)


# -- status ------------------------------------------------------------------------


def test_status_is_pending_while_the_job_runs_then_done(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await submit_sleep(adb, 0.5)
        assert await job.status() == "pending"
        await wait_done(job)
        response = await job.result()
        assert response.status_code == 200
        assert json.loads(response.raw_body) == {
            "error": False,
            "code": 200,
            "duration": 0.5,
        }

    run(server, scenario)


def test_status_after_the_result_was_fetched_raises_not_found(
    server: ServerProcess,
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        await wait_done(job)
        await job.result()
        with pytest.raises(AsyncJobStatusError) as caught:
            await job.status()
        assert caught.value.http_code == 404
        assert caught.value.error_code == 404
        assert f"job {job.id} not found" in str(caught.value)

    run(server, scenario)


# -- results ---------------------------------------------------------------------


def test_result_of_a_pending_job_raises_not_done(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await submit_sleep(adb, 30)
        with pytest.raises(AsyncJobResultError) as caught:
            await job.result()
        assert caught.value.http_code == 204
        assert f"job {job.id} not done" in str(caught.value)
        assert await job.status() == "pending"

    run(server, scenario)


def test_result_fetched_twice_raises_not_found(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        await wait_done(job)
        assert await job.result() == []
        with pytest.raises(AsyncJobResultError) as caught:
            await job.result()
        assert caught.value.http_code == 404
        assert caught.value.error_code == 404
        assert f"job {job.id} not found" in str(caught.value)

    run(server, scenario)


# -- cancel ------------------------------------------------------------------------


def test_cancelled_running_sleep_job_results_in_canceled_request(
    server: ServerProcess, journal: Path
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await submit_sleep(adb, 30)
        await wait_journal(journal, "started", job.id)  # running, not queued
        assert await job.status() == "pending"
        assert await job.cancel() is True
        await wait_done(job, timeout=10)  # far less than the 30 s it would sleep
        response = await job.result()
        assert response.status_code == 410
        assert response.error_code == 21
        assert response.error_message == "canceled request"
        assert response.headers["x-arango-async-id"] == job.id
        assert json.loads(response.raw_body) == CANCELED_BODY

    run(server, scenario)


def test_cancelled_queued_job_surfaces_as_the_methods_own_error(tmp_path: Path) -> None:
    journal = Path(journal_dir(tmp_path))

    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        blocker = await submit_sleep(adb, 30)
        await wait_journal(journal, "started", blocker.id)
        queued = await adb.collections()  # waits for the only slot
        assert await queued.status() == "pending"
        assert await queued.cancel() is True
        await wait_done(queued)
        with pytest.raises(CollectionListError) as caught:
            await queued.result()
        assert caught.value.http_code == 410
        assert caught.value.error_code == 21
        assert caught.value.error_message == "canceled request"
        assert await blocker.status() == "pending"

    with server_process(
        "--journal", str(journal), "--max-running", "1", "--shutdown-timeout", "0"
    ) as server:
        run(server, scenario)


def test_cancelling_a_done_job_keeps_its_result(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.version()
        await wait_done(job)
        assert await job.cancel() is True
        assert await job.cancel() is True  # twice is fine too
        assert await job.status() == "done"
        assert await job.result() == await db.version()

    run(server, scenario)


def test_cancel_of_a_fetched_job_raises_not_found(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        await wait_done(job)
        await job.result()
        with pytest.raises(AsyncJobCancelError) as caught:
            await job.cancel()
        assert caught.value.http_code == 404
        assert caught.value.error_code == 404
        assert caught.value.error_message == (
            f"could not find job ({job.id}) in AsyncJobManager during cancel operation"
        )
        assert await job.cancel(ignore_missing=True) is False

    run(server, scenario)


# -- clear -------------------------------------------------------------------------


def test_clear_removes_a_done_job(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        await wait_done(job)
        assert await job.clear() is True
        assert job.id not in await db.async_jobs("done")
        with pytest.raises(AsyncJobStatusError):
            await job.status()
        with pytest.raises(AsyncJobResultError) as caught:
            await job.result()
        assert caught.value.error_code == 404

    run(server, scenario)


def test_clear_removes_a_pending_job(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await submit_sleep(adb, 30)
        assert await job.clear() is True
        assert job.id not in await db.async_jobs("pending")
        with pytest.raises(AsyncJobStatusError):
            await job.status()

    run(server, scenario)


def test_clearing_twice_raises_not_found(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        job = await adb.collections()
        await wait_done(job)
        assert await job.clear() is True
        with pytest.raises(AsyncJobClearError) as caught:
            await job.clear()
        assert caught.value.http_code == 404
        assert caught.value.error_code == 404
        assert await job.clear(ignore_missing=True) is False

    run(server, scenario)


# -- lists ---------------------------------------------------------------------------


def test_async_jobs_lists_pending_and_done_ids_ascending(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        done = [await adb.collections() for _ in range(3)]
        pending = [await submit_sleep(adb, 30) for _ in range(3)]
        for job in done:
            await wait_done(job)
        assert await db.async_jobs("done") == [job.id for job in done]
        assert await db.async_jobs("pending") == [job.id for job in pending]

    run(server, scenario)


def test_async_jobs_count_limits_the_list(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        pending = [await submit_sleep(adb, 30) for _ in range(4)]
        assert await db.async_jobs("pending", count=3) == [
            job.id for job in pending[:3]
        ]
        assert await db.async_jobs("pending", count=1) == [pending[0].id]

    run(server, scenario)


def test_fire_and_forget_jobs_are_never_listed(
    server: ServerProcess, journal: Path
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        forget = db.begin_async_execution(return_result=False)
        assert await forget.collections() is None

        async def ran() -> bool:
            return any(event.get("type") == "done" for event in journal_events(journal))

        await wait_until(ran, "the fire-and-forget job to finish")
        assert await db.async_jobs("done") == []
        assert await db.async_jobs("pending") == []

    run(server, scenario)


def test_clear_async_jobs_removes_done_and_pending_jobs(server: ServerProcess) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        done = await adb.collections()
        pending = await submit_sleep(adb, 30)
        await wait_done(done)
        assert await db.clear_async_jobs() is None
        assert await db.async_jobs("done") == []
        assert await db.async_jobs("pending") == []
        for job in (done, pending):
            with pytest.raises(AsyncJobStatusError):
                await job.status()

    run(server, scenario)


def test_clear_async_jobs_with_a_past_threshold_keeps_every_job(
    server: ServerProcess,
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        done = await adb.collections()
        pending = await submit_sleep(adb, 30)
        await wait_done(done)
        await db.clear_async_jobs(threshold=time.time() - 3600.5)
        assert await db.async_jobs("done") == [done.id]
        assert await db.async_jobs("pending") == [pending.id]

    run(server, scenario)


def test_clear_async_jobs_with_a_fractional_threshold_removes_only_older_jobs(
    server: ServerProcess,
) -> None:
    async def scenario(db: StandardDatabase, adb: AsyncDatabase) -> None:
        old_done = await adb.collections()
        old_pending = await submit_sleep(adb, 30)
        await wait_done(old_done)
        # python-arango-async sends the threshold as a float: no need to
        # wait for a whole second to pass.
        threshold = time.time()
        new_done = await adb.collections()
        new_pending = await submit_sleep(adb, 30)
        await wait_done(new_done)
        await db.clear_async_jobs(threshold=threshold)
        assert await db.async_jobs("done") == [new_done.id]
        assert await db.async_jobs("pending") == [new_pending.id]
        for job in (old_done, old_pending):
            with pytest.raises(AsyncJobStatusError):
                await job.status()

    run(server, scenario)
