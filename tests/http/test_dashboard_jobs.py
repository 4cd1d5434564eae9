"""GET /_eventjobs/jobs: the dashboard's rows, counts, filters and ownership."""

from __future__ import annotations

import pytest
import trio
from quart import Quart, Response

from eventjobs import Settings, report_progress
from tests.http.conftest import Gates, add_test_routes
from tests.http.long_routes import Threads, add_long_routes
from tests.support import auth_settings, basic, serve_app, settle, submit


def setup_routes(gates: Gates, threads: Threads | None = None):
    def setup(app: Quart) -> None:
        add_test_routes(app, gates)
        if threads is not None:
            add_long_routes(app, gates, threads)

        @app.route("/test/halfway", methods=["POST"])
        async def halfway() -> Response:
            report_progress(0.5, "half <b>done</b>")
            await gates.wait("halfway")
            return Response("ok", 200)

    return setup


async def rows(client, headers=None, state: str = "pending", **query: str) -> dict:
    """One list of the answer (``jobs``, ``matched``) with ``now``, ``caller``
    and ``counts``; asked for alone, and checked to be what ``state=all`` says."""
    answers = []
    for asked in (state, "all"):
        response = await client.get(
            "/_eventjobs/jobs",
            query_string={"state": asked, **query},
            headers=headers or {},
        )
        assert response.status_code == 200, await response.get_data()
        answers.append(await response.get_json())
    alone, both = answers
    assert set(alone) == {"now", "caller", "counts", state}
    assert set(both) == {"now", "caller", "counts", "pending", "done"}
    assert alone[state] == both[state]
    return {**alone, **alone[state]}


@pytest.fixture
def threads():
    threads = Threads()
    yield threads
    for event in threads.release.values():  # never leave a thread blocked
        event.set()


async def test_pending_rows_describe_queued_and_running_jobs():
    """Each pending job is a row with its request line, times and state, newest first."""
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=0, max_running=1)
    async with serve_app(settings, setup=setup_routes(gates)) as served:
        running = await submit(served.client, "POST", "/test/wait/a")
        await settle()
        served.clock.advance(5)
        queued = await submit(served.client, "GET", "/test/wait/b?x=1")
        await settle()
        answer = await rows(served.client, state="pending")
        assert answer["caller"] == {"name": None, "superuser": True}
        assert answer["now"] == served.clock.now
        assert answer["counts"] == {
            "queued": 1,
            "running": 1,
            "cancelling": 0,
            "done": 0,
            "failed": 0,
        }
        assert answer["matched"] == 2
        assert answer["jobs"] == [
            {
                "id": str(queued),
                "owner": None,
                "method": "GET",
                "path": "/test/wait/b",
                "state": "queued",
                "created": served.clock.now,
                "started": None,
                "finished": None,
                "status": None,
                "progress": None,
            },
            {
                "id": str(running),
                "owner": None,
                "method": "POST",
                "path": "/test/wait/a",
                "state": "running",
                "created": served.clock.now - 5,
                "started": served.clock.now - 5,
                "finished": None,
                "status": None,
                "progress": None,
            },
        ]
        gates.open("a")
        gates.open("b")


async def test_done_rows_carry_status_and_count_failures_apart():
    """Finished jobs are done rows with their status; status >= 400 counts as failed."""
    gates = Gates()
    async with serve_app(setup=setup_routes(gates)) as served:
        gates.open("a")
        ok = await submit(served.client, "POST", "/test/wait/a")
        failed = await submit(served.client, "POST", "/test/fail")
        await settle()
        answer = await rows(served.client, state="done")
        assert answer["counts"] == {
            "queued": 0,
            "running": 0,
            "cancelling": 0,
            "done": 1,
            "failed": 1,
        }
        assert [(row["id"], row["status"], row["state"]) for row in answer["jobs"]] == [
            (str(failed), 500, "done"),
            (str(ok), 201, "done"),
        ]
        assert all(row["finished"] == served.clock.now for row in answer["jobs"])
        assert (await rows(served.client, state="pending"))["jobs"] == []


async def test_fetched_and_deleted_jobs_leave_the_rows():
    """Rows are the job API's lists: a fetched or deleted job is gone."""
    gates = Gates()
    async with serve_app(setup=setup_routes(gates)) as served:
        gates.open("a")
        first = await submit(served.client, "POST", "/test/wait/a")
        second = await submit(served.client, "POST", "/test/wait/a")
        kept = await submit(served.client, "POST", "/test/wait/a")
        await settle()
        await served.client.put(f"/_api/job/{first}")
        await served.client.delete(f"/_api/job/{second}")
        answer = await rows(served.client, state="done")
        assert [row["id"] for row in answer["jobs"]] == [str(kept)]
        assert answer["counts"]["done"] == 1


async def test_running_job_shows_its_latest_progress():
    """A running job's row carries the fraction and message it reported."""
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=0, progress_interval=0)
    async with serve_app(settings, setup=setup_routes(gates)) as served:
        await submit(served.client, "POST", "/test/halfway")
        await settle()
        (row,) = (await rows(served.client))["jobs"]
        assert row["progress"] == {"fraction": 0.5, "message": "half <b>done</b>"}
        gates.open("halfway")


async def test_a_cancelled_thread_job_is_cancelling_until_its_thread_returns(threads):
    """The long-running issue's cancelling state is its own state and count."""
    gates = Gates()
    settings = Settings(journal=":memory:", shutdown_timeout=0)
    async with serve_app(settings, setup=setup_routes(gates, threads)) as served:
        job = await submit(served.client, "POST", "/test/thread/a")
        await trio.to_thread.run_sync(threads.started["a"].wait, 10)
        await served.client.put(f"/_api/job/{job}/cancel")
        await settle()
        answer = await rows(served.client)
        assert [row["state"] for row in answer["jobs"]] == ["cancelling"]
        assert answer["counts"]["cancelling"] == 1
        assert answer["counts"]["running"] == 0
        threads.release["a"].set()


async def test_filters_select_by_owner_and_path_substring(tmp_path):
    """owner matches a name exactly, path any part of the path; counts ignore filters."""
    gates = Gates()
    async with serve_app(auth_settings(tmp_path), setup=setup_routes(gates)) as served:
        gates.open("a")
        alice = await submit(
            served.client, "POST", "/test/wait/a", headers=basic("alice")
        )
        bob = await submit(served.client, "POST", "/_admin/echo", headers=basic("bob"))
        await settle()
        root = basic("root")

        async def ids(**query: str) -> list[str]:
            return [
                row["id"]
                for row in (await rows(served.client, root, state="done", **query))[
                    "jobs"
                ]
            ]

        assert await ids() == [str(bob), str(alice)]
        assert await ids(owner="alice") == [str(alice)]
        assert await ids(owner="ali") == []
        assert await ids(path="echo") == [str(bob)]
        assert await ids(path="/test/", owner="bob") == []
        answer = await rows(served.client, root, state="done", owner="nobody")
        assert (answer["matched"], answer["counts"]["done"]) == (0, 2)


async def test_owner_dash_selects_jobs_without_an_owner():
    """With authentication off jobs have no owner; owner=- selects them."""
    async with serve_app() as served:
        job = await submit(served.client, "POST", "/_admin/echo")
        await settle()
        answer = await rows(served.client, state="done", owner="-")
        assert [row["id"] for row in answer["jobs"]] == [str(job)]


async def test_limit_keeps_the_newest_rows_and_says_how_many_matched():
    async with serve_app() as served:
        jobs = [await submit(served.client, "POST", "/_admin/echo") for _ in range(3)]
        await settle()
        answer = await rows(served.client, state="done", limit="2")
        assert [row["id"] for row in answer["jobs"]] == [str(jobs[2]), str(jobs[1])]
        assert answer["matched"] == 3
        assert (await rows(served.client, state="done", limit="0"))["jobs"] == []
        assert (
            len((await rows(served.client, state="done", limit="9" * 40))["jobs"]) == 3
        )


async def test_the_limit_applies_to_each_list():
    """Done jobs never crowd pending ones out of one answer."""
    gates = Gates()
    async with serve_app(setup=setup_routes(gates)) as served:
        for _ in range(3):
            await submit(served.client, "POST", "/_admin/echo")
        pending = await submit(served.client, "POST", "/test/wait/a")
        await settle()
        response = await served.client.get("/_eventjobs/jobs?limit=1")
        answer = await response.get_json()
        assert [row["id"] for row in answer["pending"]["jobs"]] == [str(pending)]
        assert [len(answer["done"]["jobs"]), answer["done"]["matched"]] == [1, 3]
        gates.open("a")


async def test_each_user_sees_only_their_own_rows_and_a_superuser_all(tmp_path):
    """Ownership as in the job API: rows and counts are the caller's jobs only."""
    gates = Gates()
    async with serve_app(auth_settings(tmp_path), setup=setup_routes(gates)) as served:
        alice = await submit(
            served.client, "POST", "/test/wait/a", headers=basic("alice")
        )
        bob = await submit(served.client, "POST", "/test/wait/b", headers=basic("bob"))
        await settle()
        for who, expected in (
            ("alice", [alice]),
            ("bob", [bob]),
            ("root", [bob, alice]),
        ):
            answer = await rows(served.client, basic(who))
            assert [row["id"] for row in answer["jobs"]] == [
                str(job) for job in expected
            ], who
            assert answer["counts"]["running"] == len(expected)
            assert answer["caller"] == {"name": who, "superuser": who == "root"}
        # Filtering by another user's name shows nothing of theirs either.
        assert (await rows(served.client, basic("alice"), owner="bob"))["jobs"] == []
        gates.open("a")
        gates.open("b")


async def test_rows_need_credentials_when_authentication_is_on(tmp_path):
    async with serve_app(auth_settings(tmp_path)) as served:
        response = await served.client.get("/_eventjobs/jobs")
        assert response.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "state=running",
        "state=",
        "limit=-1",
        "limit=abc",
        "limit=%C2%B2",
        "owner=" + "x" * 2000,
        "path=" + "x" * 2000,
    ],
)
async def test_bad_parameters_are_a_400(query):
    async with serve_app() as served:
        response = await served.client.get(f"/_eventjobs/jobs?{query}")
        assert response.status_code == 400
        assert (await response.get_json())["errorNum"] == 400


async def test_rows_are_never_queued_as_a_job():
    """x-arango-async on the dashboard's endpoints is answered synchronously."""
    async with serve_app() as served:
        for path in (
            "/_eventjobs/jobs",
            "/_eventjobs/events?follow=false",
            "/_eventjobs/ui",
        ):
            response = await served.client.get(
                path, headers={"x-arango-async": "store"}
            )
            assert response.status_code == 200, path
            assert "x-arango-async-id" not in response.headers
        assert served.runtime.table.last_job_id == 0
