"""The x-arango-async header on routed requests (spec sections 1 and 6)."""

from __future__ import annotations

import json
import logging

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued
from tests.http.conftest import Gates, add_test_routes
from tests.support import ASYNC_STORE, serve_app, settle, submit


async def json_of(response):
    return json.loads(await response.get_data())


def queued_ids(served):
    return [
        r.event.job_id for r in served.journal.read() if isinstance(r.event, JobQueued)
    ]


async def test_store_answers_202_with_id_and_empty_text_body(served):
    """store: 202, empty body, text/plain, x-arango-async-id."""
    response = await served.client.get("/_api/version", headers=ASYNC_STORE)
    assert response.status_code == 202
    assert await response.get_data() == b""
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-arango-async-id"] == "1"


async def test_ids_increase_and_are_never_reused(served):
    """Job ids are strictly increasing, also after fetch and delete."""
    first = await submit(served.client, "GET", "/_api/version")
    await settle()
    await served.client.put(f"/_api/job/{first}")
    second = await submit(served.client, "GET", "/_api/version")
    await served.client.delete("/_api/job/all")
    third = await submit(served.client, "GET", "/_api/version")
    assert first < second < third


async def test_202_is_sent_after_the_queued_event_is_durable(served):
    """Every id answered 202 has its queued event in the journal already."""
    job_id = await submit(served.client, "GET", "/_api/version")
    assert job_id in queued_ids(served)


async def test_fire_and_forget_answers_202_without_id_and_is_never_listed(served):
    """true: 202, no id; it runs but is never listed nor fetchable."""
    response = await served.client.post(
        "/test/bytes", data=b"x", headers={"x-arango-async": "true"}
    )
    assert response.status_code == 202
    assert "x-arango-async-id" not in response.headers
    await settle()
    assert await json_of(await served.client.get("/_api/job/done")) == []
    assert await json_of(await served.client.get("/_api/job/pending")) == []
    assert (await served.client.put("/_api/job/1")).status_code == 404
    events = [type(r.event).__name__ for r in served.journal.read()]
    assert events == ["JobQueued", "JobStarted", "JobDone"]  # it did run
    assert served.runtime.table.jobs == {}


@pytest.mark.parametrize("value", ["false", "1", "TRUE", "Store", ""])
async def test_other_header_values_are_synchronous(served, value):
    """Only exact "store" and "true" make a job; anything else is synchronous."""
    response = await served.client.get(
        "/_api/version", headers={"x-arango-async": value}
    )
    assert response.status_code == 200
    assert (await json_of(response))["server"] == "eventjobs"
    assert queued_ids(served) == []


async def test_unknown_path_is_404_at_once_and_not_queued(served):
    """Routing happens before queueing: an unknown path is answered 404 now."""
    response = await served.client.get("/_api/nothing", headers=ASYNC_STORE)
    assert response.status_code == 404
    assert (await json_of(response))["errorNum"] == 404
    assert "x-arango-async-id" not in response.headers
    assert queued_ids(served) == []


async def test_wrong_method_is_405_at_once_and_not_queued(served):
    """A known path with a method it does not allow is 405 now, not a job."""
    response = await served.client.delete("/_api/version", headers=ASYNC_STORE)
    assert response.status_code == 405
    assert await json_of(response) == {
        "code": 405,
        "error": True,
        "errorMessage": "method not supported",
        "errorNum": 405,
    }
    assert queued_ids(served) == []


async def test_handler_validation_error_is_part_of_the_job(served):
    """A non-numeric sleep duration is the job's stored 400, not an immediate one."""
    job_id = await submit(served.client, "GET", "/_admin/sleep?duration=abc")
    await settle()
    result = await served.client.put(f"/_api/job/{job_id}")
    assert result.status_code == 400
    assert (await json_of(result))["errorMessage"] == (
        "bad parameter: duration must be a number of seconds from 0 to 3600 "
        "(--max-sleep); not 'abc'"
    )
    assert result.headers["x-arango-async-id"] == str(job_id)


async def test_raising_handler_stores_500_and_server_keeps_serving(served):
    """A handler that raises stores an ArangoDB 500 result; nothing crashes."""
    job_id = await submit(served.client, "POST", "/test/fail")
    await settle()
    result = await served.client.put(f"/_api/job/{job_id}")
    assert result.status_code == 500
    body = await json_of(result)
    assert body["error"] is True and body["code"] == 500
    assert body["errorMessage"] == "handler raised ValueError: boom"
    assert "Traceback" not in json.dumps(body)
    assert (await served.client.get("/_api/version")).status_code == 200


async def test_job_replays_method_path_query_headers_and_body(served):
    """The job sees the request as sent, without x-arango-async."""
    job_id = await submit(
        served.client,
        "PATCH",
        "/_db/mydb/_admin/echo?a=1&a=2&b=x",
        data=b"the body",
        headers={"x-custom": "kept"},
    )
    await settle()
    echoed = await json_of(await served.client.put(f"/_api/job/{job_id}"))
    assert echoed["method"] == "PATCH"
    assert echoed["path"] == "/_admin/echo"
    assert echoed["database"] == "mydb"
    assert echoed["query"] == {"a": ["1", "2"], "b": ["x"]}
    assert echoed["body"] == "the body"
    assert echoed["headers"]["x-custom"] == "kept"
    assert "x-arango-async" not in echoed["headers"]


async def test_credentials_are_not_recorded(served):
    """Authorization and Cookie never reach the journal (spec 1.3)."""
    await submit(
        served.client,
        "GET",
        "/_api/version",
        headers={"authorization": "Basic c2VjcmV0", "cookie": "session=s3cr3t"},
    )
    (queued,) = [
        r.event for r in served.journal.read() if isinstance(r.event, JobQueued)
    ]
    names = {name for name, _ in queued.request.headers}
    assert "authorization" not in names and "cookie" not in names


async def test_queue_full_is_503_21003_and_creates_nothing(gates):
    """Beyond max_queued: 503 queue is full, no id, no job, no event."""
    settings = Settings(
        journal=":memory:", max_running=1, max_queued=1, shutdown_timeout=0
    )
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        await submit(served.client, "POST", "/test/wait/a")  # running
        await settle()
        await submit(served.client, "POST", "/test/wait/b")  # queued: the one slot
        head = served.journal.head
        response = await served.client.post("/test/wait/c", headers=ASYNC_STORE)
        assert response.status_code == 503
        assert await json_of(response) == {
            "code": 503,
            "error": True,
            "errorMessage": "queue is full",
            "errorNum": 21003,
        }
        assert "x-arango-async-id" not in response.headers
        assert served.journal.head == head
        assert await json_of(await served.client.get("/_api/job/pending")) == ["1", "2"]


async def test_body_over_the_limit_is_413_and_not_queued(gates):
    """An async request body beyond max_body_bytes is refused before queueing."""
    settings = Settings(journal=":memory:", max_body_bytes=10, shutdown_timeout=0)
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        response = await served.client.post(
            "/test/bytes", data=b"x" * 11, headers=ASYNC_STORE
        )
        assert response.status_code == 413
        assert (await json_of(response))["code"] == 413
        assert queued_ids(served) == []
        ok = await served.client.post(
            "/test/bytes", data=b"x" * 10, headers=ASYNC_STORE
        )
        assert ok.status_code == 202
        sync = await served.client.post("/test/bytes", data=b"x" * 11)
        assert sync.status_code == 413  # the same limit for synchronous requests


async def test_async_request_during_shutdown_is_503_shutdown_in_progress():
    """Once shutdown has begun, new jobs get 503 errorNum 30."""
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=100, max_running=1)
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        await submit(served.client, "POST", "/test/wait/a")
        await settle()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(served.runtime.shutdown)  # drains: waits for job a
            await settle()
            response = await served.client.get("/_api/version", headers=ASYNC_STORE)
            assert response.status_code == 503
            assert await json_of(response) == {
                "code": 503,
                "error": True,
                "errorMessage": "shutdown in progress",
                "errorNum": 30,
            }
            assert response.headers["retry-after"] == "100"
            # reads keep working while draining
            assert (await served.client.get("/_api/job/1")).status_code == 204
            gates.open("a")
        # job a finished within the drain: done, not interrupted
        ended = [type(r.event).__name__ for r in served.journal.read()][-1]
        assert ended == "JobDone"


async def test_stop_intake_refuses_jobs_before_the_shutdown_and_hurry_ends_its_wait():
    """A server told to stop refuses jobs at once, before its shutdown runs
    (503 errorNum 30, Retry-After); hurry() ends the shutdown's wait for a
    running job: it is interrupted, and nothing of the refused job is kept."""
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=100, max_running=1)
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        job_id = await submit(served.client, "POST", "/test/wait/a")
        await settle()
        served.runtime.stop_intake()
        refused = await served.client.post("/test/bytes", headers=ASYNC_STORE)
        assert refused.status_code == 503
        assert (await json_of(refused))["errorNum"] == 30
        assert refused.headers["retry-after"] == "100"
        with trio.fail_after(10):  # not the 100 s of the shutdown timeout
            async with trio.open_nursery() as nursery:
                nursery.start_soon(served.runtime.shutdown)
                await settle()
                served.runtime.hurry()
        events = [r.event for r in served.journal.read()]
        assert [type(e).__name__ for e in events][-1] == "JobInterrupted"
        assert {e.job_id for e in events} == {job_id}


async def test_database_prefix_reaches_user_routes(served):
    """/_db/<name>/ works in front of every route, sync and async."""
    response = await served.client.post("/_db/_system/test/bytes", data=b"hi")
    assert response.status_code == 200
    job_id = await submit(served.client, "POST", "/_db/other/test/bytes", data=b"yo")
    await settle()
    assert await (await served.client.put(f"/_api/job/{job_id}")).get_data() == b"yo"


async def test_client_disconnect_does_not_cancel_the_job(served, gates):
    """A job outlives the request that submitted it."""
    job_id = await submit(served.client, "POST", "/test/wait/g")
    await settle()
    # The submitting request's task has ended; the job still runs.
    assert gates.waiting["g"] == 1
    gates.open("g")
    await settle()
    assert (await served.client.get(f"/_api/job/{job_id}")).status_code == 200


async def test_an_unknown_header_value_is_logged_once_per_value(served, caplog):
    """``x-arango-async: bogus`` or ``STORE`` runs synchronously, as in
    ArangoDB, but the server says once per distinct value that it did."""
    caplog.set_level(logging.WARNING, logger="eventjobs.http")
    for value in ["bogus", "STORE", "bogus", "STORE", "false", "store"]:
        response = await served.client.get(
            "/_api/version", headers={"x-arango-async": value}
        )
        assert response.status_code in (200, 202)
    warnings = [r.getMessage() for r in caplog.records if r.name == "eventjobs.http"]
    assert len(warnings) == 2, warnings
    assert "'bogus'" in warnings[0] and "'STORE'" in warnings[1]
    assert "synchronously" in warnings[0] and "store" in warnings[0]
