"""Standard HTTP where it fits: every 503 the server answers carries
``Retry-After``; ``Prefer: wait=N`` (RFC 7240) on ``GET``/``PUT
/_api/job/{id}`` waits as ``x-eventjobs-wait`` does and is answered with
``Preference-Applied``."""

from __future__ import annotations

import errno
import os

import pytest
import trio

from eventjobs import Settings, create_app
from eventjobs.journal import FileJournal
from tests.http.conftest import add_test_routes
from tests.http.test_delays import TrioWallClock
from tests.support import ASYNC_STORE, serve_app, settle, submit


def limited(gates, **settings):
    return serve_app(
        Settings(journal=":memory:", shutdown_timeout=0, max_running=1, **settings),
        setup=lambda app: add_test_routes(app, gates),
    )


async def test_queue_full_503_carries_retry_after(gates):
    async with limited(gates, max_queued=1) as served:
        await submit(served.client, "POST", "/test/wait/a")
        await settle()
        await submit(served.client, "POST", "/test/wait/b")
        refused = await served.client.post("/test/wait/c", headers=ASYNC_STORE)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"


async def test_quota_503_carries_retry_after(gates):
    async with limited(gates, max_results_per_user=1) as served:
        await submit(served.client, "POST", "/test/bytes")
        refused = await served.client.post("/test/bytes", headers=ASYNC_STORE)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"


async def test_a_server_still_replaying_answers_503_with_retry_after():
    app = create_app(Settings(journal=":memory:", shutdown_timeout=0))
    client = app.test_client()  # the runtime has not run: the table is not built
    for refused in (
        await client.get("/_api/job/1"),
        await client.put("/_admin/echo", headers=ASYNC_STORE, data=b"x"),
        await client.get("/_eventjobs/ready"),
    ):
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"


async def test_a_journal_that_cannot_be_written_answers_503_with_retry_after(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("eventjobs.actors.writing.FIRST_BACKOFF", 2.0)
    journal = FileJournal.open(tmp_path / "journal")
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(settings, journal=journal) as served:
        job_id = await submit(served.client, "GET", "/_api/version")
        with trio.fail_after(10):  # the file journal syncs in a worker thread
            while (await served.client.get(f"/_api/job/{job_id}")).status_code != 200:
                await trio.sleep(0.005)
        await served.runtime.flush()

        def disk_full(fd: int) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
        submission = await served.client.get("/_api/version", headers=ASYNC_STORE)
        fetch = await served.client.put(f"/_api/job/{job_id}")  # its fetched fails
        ready = await served.client.get("/_eventjobs/ready")
        for refused in (submission, fetch, ready):
            assert refused.status_code == 503, await refused.get_data()
            assert refused.headers["retry-after"] == "1"
        monkeypatch.undo()
    await journal.aclose()


def waiting(gates):
    return serve_app(
        Settings(journal=":memory:", shutdown_timeout=0, max_wait=30),
        clock=TrioWallClock(),
        setup=lambda app: add_test_routes(app, gates),
    )


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_prefer_wait_holds_the_answer_until_the_job_is_done(gates, method):
    async with limited(gates) as served:
        job_id = await submit(served.client, "POST", "/test/wait/a")
        answers = []

        async def ask():
            answers.append(
                await served.client.open(
                    f"/_api/job/{job_id}", method=method, headers={"prefer": "wait=60"}
                )
            )

        with trio.fail_after(10):  # not the 60 s: the job's end ends the wait
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask)
                await settle()
                assert answers == []  # held while the job runs
                gates.open("a")
        [answer] = answers
        assert answer.status_code != 204  # done: its status, or its result
        assert answer.headers["preference-applied"] == "wait=60"
        assert "prefer" in answer.headers["vary"].lower()


async def test_prefer_wait_is_capped_by_max_wait_and_says_so(mock_clock, gates):
    """Trio's clock moves only when the test jumps it: 30 s (--max-wait)
    end the wait, where the 600 asked for would not."""
    async with waiting(gates) as served:
        job_id = await submit(served.client, "POST", "/test/wait/a")
        answers = []

        async def ask():
            answers.append(
                await served.client.get(
                    f"/_api/job/{job_id}",
                    headers={"prefer": 'respond-async, WAIT = "600"; x=1, wait=1'},
                )
            )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            await settle()
            mock_clock.jump(29)
            await settle()
            assert answers == []
            mock_clock.jump(2)
        [answer] = answers
        assert answer.status_code == 204
        assert answer.headers["preference-applied"] == "wait=30"
        gates.open("a")


@pytest.mark.parametrize("value", ["wait=soon", "wait=-1", "respond-async", "wait"])
async def test_a_prefer_without_a_usable_wait_is_ignored(autojump_clock, gates, value):
    async with waiting(gates) as served:
        job_id = await submit(served.client, "POST", "/test/wait/a")
        began = trio.current_time()
        answer = await served.client.get(
            f"/_api/job/{job_id}", headers={"prefer": value}
        )
        assert answer.status_code == 204
        assert trio.current_time() == began
        assert "preference-applied" not in answer.headers
        gates.open("a")
