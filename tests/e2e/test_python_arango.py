"""python-arango (the synchronous ArangoDB driver) against a real eventjobs
server process, using its async job API exactly as a user would."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from arango import ArangoClient
from arango.database import AsyncDatabase, StandardDatabase
from arango.exceptions import (
    ArangoServerError,
    AsyncJobCancelError,
    AsyncJobClearError,
    AsyncJobResultError,
    AsyncJobStatusError,
    CollectionListError,
)
from arango.job import AsyncJob
from arango.request import Request
from arango.response import Response

from tests.e2e.helpers import journal_events, wait_until
from tests.support import ServerProcess, journal_dir, server_process

pytestmark = pytest.mark.e2e

INTERRUPT_TIMEOUT = 10.0


# -- helpers ---------------------------------------------------------------------


def wait_done(job: AsyncJob[Any], timeout: float = 10.0) -> None:
    wait_until(lambda: job.status() == "done", f"job {job.id} to be done", timeout)


def wait_journal(journal: Path, kind: str, job_id: int | str) -> None:
    """Wait until the journal holds a *kind* event of *job_id*."""
    wait_until(
        lambda: any(
            event.get("type") == kind and event.get("job") == int(job_id)
            for event in journal_events(journal)
        ),
        f"a {kind!r} event of job {job_id} in the journal",
    )


def raw_response(request: Request) -> Callable[[Response], Any]:
    """A response handler in python-arango's own style: the body on
    success, the server's error raised as an exception otherwise."""

    def handler(resp: Response) -> Any:
        if not resp.is_success:
            raise ArangoServerError(resp, request)
        return resp.body

    return handler


def submit_sleep(adb: AsyncDatabase, duration: float | str) -> AsyncJob[Any]:
    """``GET /_admin/sleep?duration=...`` as a job, through the async executor."""
    request = Request(
        method="get", endpoint="/_admin/sleep", params={"duration": duration}
    )
    job = adb._execute(request, raw_response(request))
    assert isinstance(job, AsyncJob)
    return job


# -- fixtures --------------------------------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return Path(journal_dir(tmp_path))


@pytest.fixture
def server(journal: Path) -> Iterator[ServerProcess]:
    # Leftover sleep jobs are interrupted at once when the test ends.
    with server_process("--journal", str(journal), "--shutdown-timeout", "0") as server:
        yield server


def connect(server: ServerProcess) -> tuple[ArangoClient, StandardDatabase]:
    client = ArangoClient(hosts=server.url)
    db = client.db("_system", username="root", password="", verify=True)
    return client, db


@pytest.fixture
def db(server: ServerProcess) -> Iterator[StandardDatabase]:
    client, db = connect(server)
    try:
        yield db
    finally:
        # An idle keep-alive connection would hold the server's shutdown up.
        client.close()


@pytest.fixture
def adb(db: StandardDatabase) -> AsyncDatabase:
    return db.begin_async_execution(return_result=True)


# -- submitting and fetching -----------------------------------------------------


def test_collections_job_returns_the_collection_list(adb: AsyncDatabase) -> None:
    job = adb.collections()
    assert isinstance(job, AsyncJob)
    assert job.id.isdigit() and int(job.id) >= 1
    wait_done(job)
    assert job.result() == []


def test_version_job_result_equals_the_synchronous_answer(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    job = adb.version()
    wait_done(job)
    assert job.result() == db.version()


def test_time_job_returns_the_time_it_ran(adb: AsyncDatabase) -> None:
    before = time.time()
    job = adb.time()
    wait_done(job)
    ran_at = job.result().timestamp()
    assert before - 1 <= ran_at <= time.time() + 1


def test_echo_job_sees_the_request_a_synchronous_call_sees(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    body = {"greeting": "hello", "n": [1, 2, 3]}
    synchronous = db.echo(body)
    job = adb.echo(body)
    wait_done(job)
    replayed = job.result()
    # Not recorded with a job, by design (spec 1.3): the marker and credentials.
    unrecorded = {"x-arango-async", "authorization"}
    assert "authorization" in synchronous["headers"]  # the driver did send it
    assert not unrecorded & set(replayed["headers"])

    def comparable(echo: dict[str, Any]) -> dict[str, Any]:
        headers = {
            name: value
            for name, value in echo["headers"].items()
            if name not in unrecorded
        }
        return {**echo, "headers": headers}

    assert comparable(replayed) == comparable(synchronous)
    assert json.loads(replayed["body"]) == body


def test_handler_error_is_the_stored_result(adb: AsyncDatabase) -> None:
    job = submit_sleep(adb, "not-a-number")
    wait_done(job)
    with pytest.raises(ArangoServerError) as caught:
        job.result()
    error = caught.value
    assert error.http_code == 400
    assert error.error_code == 400
    assert error.error_message.startswith("bad parameter: duration")
    assert error.http_headers["x-arango-async-id"] == job.id


# -- status ------------------------------------------------------------------------


def test_status_is_pending_while_the_job_runs_then_done(adb: AsyncDatabase) -> None:
    job = submit_sleep(adb, 0.5)
    assert job.status() == "pending"
    wait_done(job)
    assert job.status() == "done"
    assert job.result() == {"error": False, "code": 200, "duration": 0.5}


def test_status_does_not_consume_the_result(adb: AsyncDatabase) -> None:
    job = adb.collections()
    wait_done(job)
    assert [job.status() for _ in range(3)] == ["done"] * 3
    assert job.result() == []


def test_status_after_the_result_was_fetched_raises_not_found(
    adb: AsyncDatabase,
) -> None:
    job = adb.collections()
    wait_done(job)
    job.result()
    with pytest.raises(AsyncJobStatusError) as caught:
        job.status()
    assert caught.value.http_code == 404
    assert caught.value.error_code == 404
    assert f"job {job.id} not found" in str(caught.value)


# -- results ---------------------------------------------------------------------


def test_result_of_a_pending_job_raises_not_done(adb: AsyncDatabase) -> None:
    job = submit_sleep(adb, 30)
    try:
        with pytest.raises(AsyncJobResultError) as caught:
            job.result()
        assert caught.value.http_code == 204
        assert f"job {job.id} not done" in str(caught.value)
        assert job.status() == "pending"  # asking for the result left it alone
    finally:
        job.cancel(ignore_missing=True)


def test_result_fetched_twice_raises_not_found(adb: AsyncDatabase) -> None:
    job = adb.collections()
    wait_done(job)
    assert job.result() == []
    with pytest.raises(AsyncJobResultError) as caught:
        job.result()
    assert caught.value.http_code == 404
    assert caught.value.error_code == 404
    assert f"job {job.id} not found" in str(caught.value)


# -- cancel ------------------------------------------------------------------------


def test_cancelled_running_sleep_job_results_in_canceled_request(
    adb: AsyncDatabase, journal: Path
) -> None:
    job = submit_sleep(adb, 30)
    wait_journal(journal, "started", job.id)  # it is running, not queued
    assert job.status() == "pending"
    cancelled_at = time.monotonic()
    assert job.cancel() is True
    wait_done(job, timeout=INTERRUPT_TIMEOUT)
    assert time.monotonic() - cancelled_at < INTERRUPT_TIMEOUT  # it did not sleep on
    with pytest.raises(ArangoServerError) as caught:
        job.result()
    error = caught.value
    assert error.http_code == 410
    assert error.error_code == 21
    assert error.error_message == "canceled request"
    assert error.http_headers["x-arango-async-id"] == job.id
    assert error.response.body == {
        "code": 410,
        "error": True,
        "errorMessage": "canceled request",
        "errorNum": 21,
    }


def test_cancelled_queued_job_surfaces_as_the_methods_own_error(tmp_path: Path) -> None:
    with server_process(
        "--journal",
        journal_dir(tmp_path),
        "--max-running",
        "1",
        "--shutdown-timeout",
        "0",
    ) as server:
        client, db = connect(server)
        try:
            adb = db.begin_async_execution(return_result=True)
            blocker = submit_sleep(adb, 30)
            wait_journal(Path(journal_dir(tmp_path)), "started", blocker.id)
            queued = adb.collections()  # waits for the only slot
            assert queued.status() == "pending"
            assert queued.cancel() is True
            wait_done(queued)
            with pytest.raises(CollectionListError) as caught:
                queued.result()
            assert caught.value.http_code == 410
            assert caught.value.error_code == 21
            assert caught.value.error_message == "canceled request"
            assert blocker.status() == "pending"  # only the cancelled job stopped
            blocker.cancel()
        finally:
            client.close()


def test_cancelling_twice_is_fine(adb: AsyncDatabase) -> None:
    job = submit_sleep(adb, 30)
    assert job.cancel() is True
    assert job.cancel() is True
    wait_done(job)
    with pytest.raises(ArangoServerError) as caught:
        job.result()
    assert caught.value.http_code == 410


def test_cancelling_a_done_job_keeps_its_result(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    job = adb.version()
    wait_done(job)
    assert job.cancel() is True
    assert job.status() == "done"
    assert job.result() == db.version()  # the version, not a 410


def test_cancel_of_a_fetched_job_raises_not_found(adb: AsyncDatabase) -> None:
    job = adb.collections()
    wait_done(job)
    job.result()
    with pytest.raises(AsyncJobCancelError) as caught:
        job.cancel()
    assert caught.value.http_code == 404
    assert caught.value.error_code == 404
    assert (
        f"could not find job ({job.id}) in AsyncJobManager"
        in caught.value.error_message
    )
    assert job.cancel(ignore_missing=True) is False


# -- clear -------------------------------------------------------------------------


def test_clear_removes_a_done_job(db: StandardDatabase, adb: AsyncDatabase) -> None:
    job = adb.collections()
    wait_done(job)
    assert job.clear() is True
    assert job.id not in db.async_jobs("done")
    with pytest.raises(AsyncJobStatusError):
        job.status()
    with pytest.raises(AsyncJobResultError) as caught:
        job.result()
    assert caught.value.error_code == 404


def test_clear_removes_a_pending_job_without_a_result(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    job = submit_sleep(adb, 30)
    assert job.clear() is True
    assert job.id not in db.async_jobs("pending")
    with pytest.raises(AsyncJobStatusError):
        job.status()


def test_clearing_twice_raises_not_found(adb: AsyncDatabase) -> None:
    job = adb.collections()
    wait_done(job)
    assert job.clear() is True
    with pytest.raises(AsyncJobClearError) as caught:
        job.clear()
    assert caught.value.http_code == 404
    assert caught.value.error_code == 404
    assert job.clear(ignore_missing=True) is False


# -- lists ---------------------------------------------------------------------------


def test_async_jobs_lists_pending_and_done_ids_ascending(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    done = [adb.collections() for _ in range(3)]
    pending = [submit_sleep(adb, 30) for _ in range(3)]
    for job in done:
        wait_done(job)
    assert db.async_jobs("done") == [job.id for job in done]
    assert db.async_jobs("pending") == [job.id for job in pending]


def test_async_jobs_count_limits_the_list(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    done = [adb.collections() for _ in range(4)]
    for job in done:
        wait_done(job)
    assert db.async_jobs("done", count=2) == [done[0].id, done[1].id]
    assert db.async_jobs("done", count=10) == [job.id for job in done]


def test_fire_and_forget_jobs_are_never_listed(
    db: StandardDatabase, journal: Path
) -> None:
    forget = db.begin_async_execution(return_result=False)
    assert forget.collections() is None
    # It ran: the journal says so (job ids are hidden from the client).
    wait_until(
        lambda: any(event.get("type") == "done" for event in journal_events(journal)),
        "the fire-and-forget job to finish",
    )
    assert db.async_jobs("done") == []
    assert db.async_jobs("pending") == []


def test_clear_async_jobs_removes_done_and_pending_jobs(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    done = adb.collections()
    pending = submit_sleep(adb, 30)
    wait_done(done)
    assert db.clear_async_jobs() is True
    assert db.async_jobs("done") == []
    assert db.async_jobs("pending") == []
    for job in (done, pending):
        with pytest.raises(AsyncJobStatusError):
            job.status()


def test_clear_async_jobs_with_a_past_threshold_keeps_every_job(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    done = adb.collections()
    pending = submit_sleep(adb, 30)
    wait_done(done)
    assert db.clear_async_jobs(threshold=int(time.time()) - 3600) is True
    assert db.async_jobs("done") == [done.id]
    assert db.async_jobs("pending") == [pending.id]


def test_clear_async_jobs_with_a_threshold_removes_only_older_jobs(
    db: StandardDatabase, adb: AsyncDatabase
) -> None:
    old = adb.collections()
    wait_done(old)
    # python-arango sends the threshold as whole seconds: let the clock pass
    # the next whole second, so the jobs below are stamped after it.
    threshold = math.floor(time.time()) + 1
    wait_until(lambda: time.time() > threshold, "the next whole second", timeout=2)
    new_done = adb.collections()
    new_pending = submit_sleep(adb, 30)
    wait_done(new_done)
    assert db.clear_async_jobs(threshold=threshold) is True
    assert db.async_jobs("done") == [new_done.id]
    assert db.async_jobs("pending") == [new_pending.id]
    with pytest.raises(AsyncJobStatusError):
        old.status()
