"""The dashboard's live feed: which events reach whom (LiveFeed, on a running
app), and GET /_eventjobs/events over real HTTP (hypercorn in this process,
httpx reading the stream, a real disconnect at the end)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from eventjobs import Settings, create_app
from eventjobs.events import JobQueued, JobStarted, RecordedRequest
from eventjobs.http import live, reauth
from eventjobs.identity import ANONYMOUS, Caller
from tests.http.conftest import Gates
from tests.http.test_dashboard_jobs import setup_routes
from tests.support import (
    TEST_USERS,
    FakeClock,
    auth_settings,
    basic,
    free_port,
    serve_app,
    settle,
    submit,
    write_users_file,
)

ALICE = Caller("alice")


def drain(subscription: live.Subscription) -> list[dict]:
    lines = []
    while True:
        try:
            lines.append(subscription.receive.receive_nowait())
        except trio.WouldBlock:
            return lines


def job_events(lines: list[dict]) -> list[tuple[int, str]]:
    return [(line["job"], line["type"]) for line in lines if "job" in line]


# -- who gets what ----------------------------------------------------------------


async def test_each_event_is_offered_as_it_is_recorded():
    """Events arrive in order with their sequence numbers; never a request or result."""
    async with serve_app() as served:
        subscription = live.feed_of(served.app).subscribe(ANONYMOUS)
        job = await submit(served.client, "POST", "/_admin/echo")
        await settle()
        lines = drain(subscription)
        assert job_events(lines) == [(job, "queued"), (job, "started"), (job, "done")]
        assert [line["seq"] for line in lines] == [1, 2, 3]
        assert all(set(line) == {"seq", "type", "job", "time"} for line in lines)
        assert all(line["time"] == served.clock.now for line in lines)


async def test_progress_lines_carry_fraction_and_message():
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=0, progress_interval=0)
    async with serve_app(settings, setup=setup_routes(gates)) as served:
        subscription = live.feed_of(served.app).subscribe(ANONYMOUS)
        await submit(served.client, "POST", "/test/halfway")
        await settle()
        progress = [line for line in drain(subscription) if line["type"] == "progress"]
        assert [(line["fraction"], line["message"]) for line in progress] == [
            (0.5, "half <b>done</b>")
        ]
        gates.open("halfway")


async def test_a_user_gets_only_their_own_jobs_events_removals_included(tmp_path):
    """alice's subscription carries her jobs' events, also the fetch of a job
    queued before she subscribed (gone from the table by the time it is
    offered), and nothing of bob's; a superuser's carries everyone's."""
    async with serve_app(auth_settings(tmp_path)) as served:
        before = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("alice")
        )
        other_before = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("bob")
        )
        await settle()
        feed = live.feed_of(served.app)
        alice, root = (
            feed.subscribe(ALICE),
            feed.subscribe(Caller("root", superuser=True)),
        )
        theirs = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("bob")
        )
        mine = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("alice")
        )
        await settle()
        assert (
            await served.client.put(f"/_api/job/{before}", headers=basic("alice"))
        ).status_code == 200
        assert (
            await served.client.delete(
                f"/_api/job/{other_before}", headers=basic("bob")
            )
        ).status_code == 200
        assert job_events(drain(alice)) == [
            (mine, "queued"),
            (mine, "started"),
            (mine, "done"),
            (before, "fetched"),
        ]
        everyone = job_events(drain(root))
        assert {job for job, _ in everyone} == {theirs, mine, before, other_before}


async def test_a_job_id_queued_again_for_someone_else_is_no_longer_theirs(tmp_path):
    """alice subscribed while her job N was recorded but not yet durable; the
    append failed, N was never hers in the journal and the next submission,
    bob's, got N again: nothing of bob's job N may reach alice."""
    async with serve_app(auth_settings(tmp_path)) as served:
        feed = live.feed_of(served.app)
        job = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("alice")
        )
        await settle()
        alice = feed.subscribe(ALICE)
        assert job in alice.mine
        reused = JobQueued(
            job_id=job,
            time=1.0,
            owner="bob",
            store=True,
            request=RecordedRequest(method="POST", path="/x"),
        )
        alice.offer(job + 10, reused)
        alice.offer(job + 11, JobStarted(job_id=job, time=2.0))
        assert drain(alice) == []


async def test_a_slow_reader_is_told_it_missed_events(monkeypatch):
    """Past BUFFER unread events the rest are dropped and ``overflowed`` is set."""
    monkeypatch.setattr(live, "BUFFER", 2)
    async with serve_app() as served:
        subscription = live.feed_of(served.app).subscribe(ANONYMOUS)
        await submit(served.client, "POST", "/_admin/echo")
        await settle()
        assert subscription.overflowed
        assert len(drain(subscription)) == 2


async def test_an_unsubscribed_stream_gets_nothing_more():
    async with serve_app() as served:
        feed = live.feed_of(served.app)
        subscription = feed.subscribe(ANONYMOUS)
        assert feed.open_streams == 1
        feed.unsubscribe(subscription)
        assert feed.open_streams == 0
        await submit(served.client, "POST", "/_admin/echo")
        await settle()
        assert drain(subscription) == []


# -- over HTTP ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def http_server(
    settings: Settings | None = None, **app_config: object
) -> AsyncIterator[tuple[str, object]]:
    """The app behind a real hypercorn in this process: (base URL, app)."""
    settings = settings or Settings(journal=":memory:", shutdown_timeout=0)
    app = create_app(settings, clock=FakeClock())
    app.config.update(app_config)
    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve(
                app, config, shutdown_trigger=stop.wait, task_status=task_status
            )
        )
        try:
            yield f"http://127.0.0.1:{port}", app
        finally:
            stop.set()


async def read_line(lines: AsyncIterator[str]) -> dict:
    with trio.fail_after(10):
        return json.loads(await lines.__anext__())


async def test_stream_says_hello_then_lines_as_jobs_change_until_the_client_leaves():
    async with http_server() as (url, app), httpx.AsyncClient(base_url=url) as client:
        await client.post("/_admin/echo", headers={"x-arango-async": "store"})
        async with client.stream("GET", "/_eventjobs/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/x-ndjson"
            assert response.headers["cache-control"] == "no-cache"
            lines = response.aiter_lines()
            hello = await read_line(lines)
            assert hello["type"] == "hello"
            submitted = await client.post(
                "/_admin/echo", headers={"x-arango-async": "store"}
            )
            job = int(submitted.headers["x-arango-async-id"])
            seen = [await read_line(lines) for _ in range(3)]
            assert job_events(seen) == [
                (job, "queued"),
                (job, "started"),
                (job, "done"),
            ]
            assert seen[0]["seq"] == hello["seq"] + 1
            assert live.feed_of(app).open_streams == 1
        # The client went away: the server's side of the stream ends too.
        with trio.fail_after(10):
            while live.feed_of(app).open_streams:
                await trio.sleep(0.01)


async def test_a_quiet_stream_sends_heartbeats_and_outlives_the_response_timeout(
    monkeypatch,
):
    """Quart cuts responses after RESPONSE_TIMEOUT (60 s by default); the feed
    opts out, and says it is alive while nothing happens."""
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.1)
    async with (
        http_server(RESPONSE_TIMEOUT=0.3) as (url, _app),
        httpx.AsyncClient(base_url=url) as client,
    ):
        async with client.stream("GET", "/_eventjobs/events") as response:
            lines = response.aiter_lines()
            assert (await read_line(lines))["type"] == "hello"
            opened = trio.current_time()
            while trio.current_time() - opened < 0.6:  # twice the response timeout
                assert await read_line(lines) == {"type": "heartbeat", "seq": 0}


async def test_a_user_stream_over_http_needs_credentials_and_shows_only_theirs(
    tmp_path,
):
    async with (
        http_server(auth_settings(tmp_path)) as (url, _app),
        httpx.AsyncClient(base_url=url) as client,
    ):
        refused = await client.get("/_eventjobs/events?follow=false")
        assert refused.status_code == 401
        async with client.stream(
            "GET", "/_eventjobs/events", headers=basic("alice")
        ) as response:
            lines = response.aiter_lines()
            assert (await read_line(lines))["type"] == "hello"
            store = {"x-arango-async": "store"}
            await client.post("/_admin/echo", headers={**store, **basic("bob")})
            mine = await client.post(
                "/_admin/echo", headers={**store, **basic("alice")}
            )
            first = await read_line(lines)
            assert (first["job"], first["type"]) == (
                int(mine.headers["x-arango-async-id"]),
                "queued",
            )


async def test_follow_false_answers_the_position_and_ends():
    async with serve_app() as served:
        await submit(served.client, "POST", "/_admin/echo")
        await settle()
        response = await served.client.get("/_eventjobs/events?follow=false")
        assert response.status_code == 200
        assert await response.get_data() == b'{"type":"hello","seq":3}\n'


@pytest.mark.parametrize("follow", ["yes", "TRUE", ""])
async def test_a_bad_follow_is_a_400(follow):
    async with serve_app() as served:
        response = await served.client.get(f"/_eventjobs/events?follow={follow}")
        assert response.status_code == 400


async def test_a_stream_ends_when_its_credentials_stop_holding(tmp_path, monkeypatch):
    """Alice's feed is open; she is removed from the users file: the stream
    says it is closed and ends, instead of serving her for hours more."""
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(reauth, "RECHECK_SECONDS", 0)
    settings = auth_settings(tmp_path)
    async with (
        http_server(settings) as (url, _app),
        httpx.AsyncClient(base_url=url) as client,
    ):
        async with client.stream(
            "GET", "/_eventjobs/events", headers=basic("alice")
        ) as response:
            lines = response.aiter_lines()
            assert (await read_line(lines))["type"] == "hello"
            assert (await read_line(lines))[
                "type"
            ] == "heartbeat"  # checked, still hers
            without_alice = {
                name: user for name, user in TEST_USERS.items() if name != "alice"
            }
            write_users_file(tmp_path / "users.json", without_alice)
            with trio.fail_after(10):
                line = await read_line(lines)
                while line["type"] == "heartbeat":  # written before the file changed
                    line = await read_line(lines)
            assert line == {"type": "closed", "reason": live.CLOSED_REASON}
            with trio.fail_after(10):
                assert [rest async for rest in lines] == []


async def test_the_journal_stream_ends_when_its_superuser_is_demoted(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(reauth, "RECHECK_SECONDS", 0)
    settings = auth_settings(tmp_path)
    async with (
        http_server(settings) as (url, _app),
        httpx.AsyncClient(base_url=url) as client,
    ):
        store = {"x-arango-async": "store", **basic("root")}
        await client.post("/_admin/echo", headers=store)
        path = "/_eventjobs/journal?follow=true"
        async with client.stream("GET", path, headers=basic("root")) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            assert json.loads(await lines.__anext__())["seq"] == 1
            write_users_file(
                tmp_path / "users.json",
                {**TEST_USERS, "root": (TEST_USERS["root"][0], False)},
            )
            with trio.fail_after(10):
                async for _line in lines:  # whatever was durable before: then the end
                    pass
