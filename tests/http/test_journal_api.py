"""The audit endpoints: the journal as NDJSON, and one job's history."""

from __future__ import annotations

import pytest

import json

import trio

from eventjobs import Settings
from eventjobs.codec import encode_event
from tests.support import serve_app, settle, submit


async def _records_as_json(served) -> list[dict]:
    return [{"seq": r.seq, **encode_event(r.event)} for r in served.journal.read()]


async def test_journal_streams_every_record_as_ndjson(tmp_path):
    """after=0 answers every record, one JSON object per line, in order."""
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(settings) as served:
        job = await submit(served.client, "GET", "/_api/version")
        # The file journal appends in a worker thread, which settle() does
        # not wait for: poll (bounded) until the result is there to fetch.
        with trio.fail_after(10):
            while (await served.client.put(f"/_api/job/{job}")).status_code != 200:
                await trio.sleep(0.01)
        response = await served.client.get("/_eventjobs/journal")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = (await response.get_data()).decode().splitlines()
        assert [json.loads(line) for line in lines] == await _records_as_json(served)
        assert [json.loads(line)["type"] for line in lines] == [
            "queued",
            "started",
            "done",
            "fetched",
        ]


async def test_journal_after_skips_earlier_records():
    """after=SEQ answers only the records after SEQ."""
    async with serve_app() as served:
        await submit(served.client, "GET", "/_api/version")
        await settle()
        response = await served.client.get("/_eventjobs/journal?after=2")
        seqs = [
            json.loads(line)["seq"]
            for line in (await response.get_data()).decode().splitlines()
        ]
        assert seqs == [3]


@pytest.mark.parametrize("after", ["x", "%C2%B2", "1" * 5000])
async def test_journal_rejects_a_bad_after(after):
    """after that is not an ASCII sequence number is a 400 bad parameter."""
    async with serve_app() as served:
        response = await served.client.get(f"/_eventjobs/journal?after={after}")
        assert response.status_code == 400
        assert (await response.get_json())["errorNum"] == 400


async def test_journal_endpoint_is_never_queued():
    """x-arango-async on the journal endpoint is answered synchronously."""
    async with serve_app() as served:
        response = await served.client.get(
            "/_eventjobs/journal", headers={"x-arango-async": "store"}
        )
        assert response.status_code == 200
        assert "x-arango-async-id" not in response.headers
        assert served.journal.head == 0  # nothing was recorded


async def test_history_lists_one_jobs_events():
    """A job's history holds its records only, with its owner."""
    async with serve_app() as served:
        first = await submit(served.client, "GET", "/_api/version")
        second = await submit(served.client, "GET", "/_api/version")
        await settle()
        await served.client.delete(f"/_api/job/{second}")
        response = await served.client.get(f"/_eventjobs/jobs/{second}/history")
        assert response.status_code == 200
        body = await response.get_json()
        assert body["job"] == second and body["owner"] is None
        assert [e["type"] for e in body["events"]] == [
            "queued",
            "started",
            "done",
            "deleted",
        ]
        assert {e["job"] for e in body["events"]} == {second} != {first}


async def test_history_of_unknown_job_is_404():
    """A job the journal never saw is not found."""
    async with serve_app() as served:
        response = await served.client.get("/_eventjobs/jobs/42/history")
        assert response.status_code == 404
        assert (await response.get_json())["errorNum"] == 404


def _as_caller_from_header(app) -> None:
    """Until authentication lands every request is the anonymous superuser;
    these tests pose as other callers with an ``x-test-caller`` header
    (``-``: nobody authenticated, not a superuser)."""
    from quart import request

    from eventjobs.http.context import CALLER_KEY
    from eventjobs.identity import Caller

    @app.before_request
    async def pose() -> None:
        name = request.headers.get("x-test-caller")
        if name is not None:
            request.scope[CALLER_KEY] = Caller(None if name == "-" else name)


async def test_journal_is_forbidden_to_a_non_superuser():
    """A named caller who is not a superuser gets 403 errorNum 11."""
    async with serve_app(setup=_as_caller_from_header) as served:
        response = await served.client.get(
            "/_eventjobs/journal", headers={"x-test-caller": "alice"}
        )
        assert response.status_code == 403
        assert (await response.get_json())["errorNum"] == 11


async def test_journal_needs_authentication():
    """An unauthenticated caller who is not a superuser gets 401."""
    async with serve_app(setup=_as_caller_from_header) as served:
        response = await served.client.get(
            "/_eventjobs/journal", headers={"x-test-caller": "-"}
        )
        assert response.status_code == 401


async def test_history_is_hidden_from_other_users():
    """Someone who does not own the job gets 404; its owner sees it."""
    async with serve_app(setup=_as_caller_from_header) as served:
        job = await submit(served.client, "GET", "/_api/version")  # owner null
        other = await served.client.get(
            f"/_eventjobs/jobs/{job}/history", headers={"x-test-caller": "alice"}
        )
        assert other.status_code == 404
        owner = await served.client.get(
            f"/_eventjobs/jobs/{job}/history", headers={"x-test-caller": "-"}
        )
        assert owner.status_code == 200


async def test_a_following_stream_outlives_the_response_timeout():
    """Quart cuts a response after RESPONSE_TIMEOUT (60 s by default); a
    following journal stream opts out: records still come after it passed."""
    import httpx

    from tests.http.test_dashboard_feed import http_server, read_line

    async with (
        http_server(RESPONSE_TIMEOUT=0.3) as (url, _app),
        httpx.AsyncClient(base_url=url) as client,
    ):
        async with client.stream("GET", "/_eventjobs/journal?follow=true") as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            await trio.sleep(0.6)  # twice the response timeout, with nothing to send
            submitted = await client.post(
                "/_admin/echo", headers={"x-arango-async": "store"}
            )
            job = int(submitted.headers["x-arango-async-id"])
            first = await read_line(lines)
            assert (first["seq"], first["type"], first["job"]) == (1, "queued", job)
