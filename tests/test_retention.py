"""Retention: --result-ttl, --max-results and --max-result-bytes."""

from __future__ import annotations

import json

import trio

from eventjobs import Settings
from eventjobs.events import JobDeleted
from eventjobs.runtime import RETENTION_INTERVAL
from tests.http.conftest import Gates, add_test_routes
from tests.support import serve_app, settle, submit


def deletions(served):
    return [
        (r.event.job_id, r.event.reason)
        for r in served.journal.read()
        if isinstance(r.event, JobDeleted)
    ]


def settings(**limits):
    return Settings(journal=":memory:", shutdown_timeout=0, **limits)


async def test_results_past_the_ttl_are_removed_with_reason_ttl(autojump_clock):
    """A result older than result_ttl is deleted (reason "ttl"); a younger
    one and a pending job stay."""
    async with serve_app(settings(result_ttl=60)) as served:
        old = await submit(served.client, "GET", "/_api/version")
        await settle()
        served.clock.advance(50)
        young = await submit(served.client, "GET", "/_api/version")
        await settle()
        served.clock.advance(11)  # old finished 61 s ago, young 11 s ago
        await trio.sleep(RETENTION_INTERVAL * 2)
        assert deletions(served) == [(old, "ttl")]
        assert (await served.client.put(f"/_api/job/{old}")).status_code == 404
        assert (await served.client.put(f"/_api/job/{young}")).status_code == 200


async def test_beyond_max_results_the_oldest_go(autojump_clock):
    """With max_results 2, a third result removes the oldest (reason "max-results")."""
    async with serve_app(settings(max_results=2)) as served:
        ids = []
        for _ in range(3):
            ids.append(await submit(served.client, "GET", "/_api/version"))
            await settle()
            served.clock.advance(1)
        await trio.sleep(RETENTION_INTERVAL * 2)
        assert deletions(served) == [(ids[0], "max-results")]
        done = json.loads(await (await served.client.get("/_api/job/done")).get_data())
        assert done == [str(ids[1]), str(ids[2])]


async def test_pending_jobs_are_never_removed_by_retention(autojump_clock):
    """Retention only removes finished results."""
    gates = Gates()
    async with serve_app(
        settings(result_ttl=0, max_results=1),
        setup=lambda app: add_test_routes(app, gates),
    ) as served:
        pending = await submit(served.client, "POST", "/test/wait/g")
        served.clock.advance(1000)
        await trio.sleep(RETENTION_INTERVAL * 3)
        assert (await served.client.get(f"/_api/job/{pending}")).status_code == 204
        assert deletions(served) == []


async def test_retention_is_off_by_default(autojump_clock):
    """Without limits, results stay however old and however many."""
    async with serve_app() as served:
        for _ in range(3):
            await submit(served.client, "GET", "/_api/version")
        await settle()
        served.clock.advance(10**6)
        await trio.sleep(RETENTION_INTERVAL * 3)
        assert deletions(served) == []


async def test_result_over_max_result_bytes_is_replaced_by_an_error():
    """A response larger than max_result_bytes is not stored; the result is a
    500 saying how large it was."""
    gates = Gates()
    async with serve_app(
        settings(max_result_bytes=10), setup=lambda app: add_test_routes(app, gates)
    ) as served:
        small = await submit(served.client, "POST", "/test/bytes", data=b"x" * 10)
        large = await submit(served.client, "POST", "/test/bytes", data=b"x" * 11)
        await settle()
        assert (
            await (await served.client.put(f"/_api/job/{small}")).get_data()
            == b"x" * 10
        )
        result = await served.client.put(f"/_api/job/{large}")
        assert result.status_code == 500
        body = json.loads(await result.get_data())
        assert body["errorNum"] == 32
        assert "11 bytes" in body["errorMessage"] and "10 bytes" in body["errorMessage"]
