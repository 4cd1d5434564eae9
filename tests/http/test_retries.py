"""``x-eventjobs-retries`` / ``-retry-delay``: an attempt that ends with a
5xx, a timeout or a crash runs again after an exponential back-off, up to N
more times; each attempt is in the journal; the stored result is the last
attempt's; only requests safe to run again may ask; a cancel stops it.

Time is trio's MockClock with autojump and the server's wall clock is read
from it; the back-off's jitter is injected (1.0: the full exponential)."""

from __future__ import annotations

import pytest
import trio
from quart import Response

from eventjobs import Settings, rerun_safe
from eventjobs.events import (
    JobDone,
    JobQueued,
    JobRetrying,
    JobStarted,
    JobTimedOut,
    RecordedRequest,
)
from eventjobs.journal import FileJournal, Recorded
from tests.http.test_delays import EPOCH, TrioWallClock
from tests.support import ASYNC_STORE, serve_app, settle

RETRIES = "x-eventjobs-retries"
DELAY = "x-eventjobs-retry-delay"


def add_routes(app, failures: dict[str, int]) -> None:
    """``/flaky/<name>`` answers 500 until it has failed ``failures[name]``
    times, then 200 with the attempt's number; ``/hang`` never answers."""
    calls: dict[str, int] = {}

    @app.route("/flaky/<name>", methods=["GET", "PUT", "POST"])
    async def flaky(name: str) -> Response:
        calls[name] = calls.get(name, 0) + 1
        if calls[name] <= failures.get(name, 0):
            return Response(f"failure {calls[name]}", 500)
        return Response(f"success on call {calls[name]}", 200)

    @app.route("/safe/<name>", methods=["POST"])
    @rerun_safe
    async def safe(name: str) -> Response:
        return await flaky(name)

    @app.route("/hang", methods=["GET"])
    async def hang() -> Response:
        await trio.sleep_forever()
        raise AssertionError


def retrying(failures, settings=None, journal=None):
    settings = settings or Settings(journal=":memory:", shutdown_timeout=0)
    return serve_app(
        settings,
        journal=journal,
        clock=TrioWallClock(),
        setup=lambda app: add_routes(app, failures),
        retry_jitter=lambda: 1.0,
    )


def events(served, kind=None):
    found = [r.event for r in served.journal.read()]
    return found if kind is None else [e for e in found if isinstance(e, kind)]


async def submit(served, method, path, **headers) -> int:
    response = await served.client.open(
        path, method=method, headers={**ASYNC_STORE, **headers}
    )
    assert response.status_code == 202, await response.get_data()
    return int(response.headers["x-arango-async-id"])


async def wait_done(served, job_id):
    answer = await served.client.put(
        f"/_api/job/{job_id}", headers={"x-eventjobs-wait": "60"}
    )
    assert answer.status_code != 204
    return answer


async def test_a_5xx_attempt_runs_again_after_the_back_off(autojump_clock):
    async with retrying({"a": 2}) as served:
        job_id = await submit(served, "PUT", "/flaky/a", **{RETRIES: "3", DELAY: "10"})
        await trio.sleep(5)  # the first attempt failed; the second waits
        status = await served.client.get(f"/_api/job/{job_id}")
        assert status.status_code == 204
        assert status.headers["x-eventjobs-attempt"] == "2"
        pending = await (await served.client.get("/_api/job/pending")).get_json()
        assert pending == [str(job_id)]
        answer = await wait_done(served, job_id)
        assert answer.status_code == 200
        assert await answer.get_data() == b"success on call 3"  # the last attempt's
        [first, second] = events(served, JobRetrying)
        assert (first.attempt, first.reason, first.status) == (1, "server_error", 500)
        assert first.not_before == pytest.approx(first.time + 10)  # base * 2**0
        assert second.attempt == 2
        assert second.not_before == pytest.approx(second.time + 20)  # base * 2**1
        assert [e.attempt for e in events(served, JobStarted)] == [1, 2, 3]
        starts = [e.time for e in events(served, JobStarted)]
        assert starts[1] >= first.not_before and starts[2] >= second.not_before


async def test_when_the_retries_are_used_up_the_last_failure_is_the_result(
    autojump_clock,
):
    async with retrying({"a": 99}) as served:
        job_id = await submit(served, "GET", "/flaky/a", **{RETRIES: "2", DELAY: "1"})
        answer = await wait_done(served, job_id)
        assert answer.status_code == 500
        assert await answer.get_data() == b"failure 3"
        assert [e.attempt for e in events(served, JobRetrying)] == [1, 2]
        assert len(events(served, JobDone)) == 1


async def test_a_timeout_is_retried_and_the_last_one_stored(autojump_clock):
    async with retrying({}) as served:
        job_id = await submit(
            served, "GET", "/hang", **{RETRIES: "1", "x-eventjobs-timeout": "2"}
        )
        answer = await wait_done(served, job_id)
        assert answer.status_code == 504
        [retry] = events(served, JobRetrying)
        assert (retry.reason, retry.status) == ("timeout", 504)
        assert len(events(served, JobTimedOut)) == 1


async def test_a_cancel_stops_the_retrying(autojump_clock):
    async with retrying({"a": 99}) as served:
        job_id = await submit(served, "GET", "/flaky/a", **{RETRIES: "5", DELAY: "60"})
        await trio.sleep(1)  # the first attempt failed; the next in 60 s
        assert (
            await served.client.put(f"/_api/job/{job_id}/cancel")
        ).status_code == 200
        await trio.sleep(600)
        assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 410
        assert len(events(served, JobStarted)) == 1


async def test_without_the_header_a_5xx_is_the_result_at_once(autojump_clock):
    async with retrying({"a": 1}) as served:
        job_id = await submit(served, "GET", "/flaky/a")
        assert (await wait_done(served, job_id)).status_code == 500
        assert events(served, JobRetrying) == []
        [queued] = events(served, JobQueued)
        assert queued.retries == 0


async def test_a_post_may_not_retry_unless_it_is_safe_to_run_again(autojump_clock):
    async with retrying({}) as served:
        refused = await served.client.post(
            "/flaky/a", headers={**ASYNC_STORE, RETRIES: "1"}
        )
        assert refused.status_code == 400
        message = (await refused.get_json())["errorMessage"]
        assert "POST" in message and "Idempotency-Key" in message
        assert "rerun-safe" in message
        assert events(served, JobQueued) == []
        keyed = await submit(
            served, "POST", "/flaky/a", **{RETRIES: "1", "Idempotency-Key": "k1"}
        )
        safe = await submit(served, "POST", "/safe/b", **{RETRIES: "1"})
        assert [e.job_id for e in events(served, JobQueued)] == [keyed, safe]


@pytest.mark.parametrize(
    "headers, words",
    [
        ({RETRIES: "21"}, "0 to 20"),
        ({RETRIES: "-1"}, "0 to 20"),
        ({RETRIES: "two"}, "0 to 20"),
        ({RETRIES: "2", DELAY: "soon"}, DELAY),
        ({RETRIES: "2", DELAY: "9999999999"}, "--max-delay"),
        ({DELAY: "5"}, f"{DELAY} needs {RETRIES}"),
    ],
)
async def test_bad_retry_headers_are_400_and_nothing_is_queued(
    autojump_clock, headers, words
):
    async with retrying({}) as served:
        response = await served.client.get(
            "/flaky/a", headers={**ASYNC_STORE, **headers}
        )
        assert response.status_code == 400
        assert words in (await response.get_json())["errorMessage"]
        assert events(served, JobQueued) == []


async def test_a_crash_while_an_attempt_ran_retries_it_after_the_restart(
    mock_clock, tmp_path
):
    """The journal a crash leaves: attempt 1 started and never ended. At
    start-up the recovery rules record it ``retrying`` (interrupted), and
    attempt 2 runs after the back-off. Trio's clock moves only when the
    test jumps it (the file journal works in threads: an autojump would
    fire the app's own timeouts meanwhile)."""
    directory = tmp_path / "journal"
    journal = FileJournal.open(directory)
    request = RecordedRequest(method="PUT", path="/flaky/a")
    await journal.append(
        [
            Recorded(
                1,
                JobQueued(
                    job_id=1,
                    time=EPOCH,
                    owner=None,
                    store=True,
                    request=request,
                    retries=1,
                    retry_delay=30.0,
                ),
            ),
            Recorded(2, JobStarted(job_id=1, time=EPOCH)),
        ]
    )
    await journal.aclose()
    settings = Settings(journal=str(directory), shutdown_timeout=0)
    async with retrying({}, settings) as served:
        status = await served.client.get("/_api/job/1")
        assert status.status_code == 204
        assert status.headers["x-eventjobs-attempt"] == "2"
        await settle()
        assert [e.attempt for e in events(served, JobStarted)] == [1]
        mock_clock.jump(31)
        answer = await wait_done(served, 1)
        assert answer.status_code == 200
        [retry] = events(served, JobRetrying)
        assert (retry.attempt, retry.reason, retry.status) == (1, "interrupted", 503)
        assert retry.not_before == pytest.approx(retry.time + 30)
        assert [e.attempt for e in events(served, JobStarted)] == [1, 2]
