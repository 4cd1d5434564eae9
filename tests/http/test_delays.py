"""Delayed start: ``x-eventjobs-delay`` / ``x-eventjobs-not-before`` keep a
job queued (204, listed pending) until its time, also across a restart; a
bad or too distant time is 400 with nothing queued.

Time is trio's MockClock with autojump, and the server's wall clock is read
from it (:class:`TrioWallClock`), so waiting a day takes no time."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued, JobStarted
from tests.http.conftest import add_test_routes
from tests.support import ASYNC_STORE, serve_app, settle

EPOCH = 1_700_000_000.0


class TrioWallClock:
    """Wall-clock unix seconds that move with trio's (mock) clock."""

    def __call__(self) -> float:
        return EPOCH + trio.current_time()

    def advance(self, seconds: float) -> None:
        raise AssertionError("move trio's clock instead (trio.sleep)")


def events(served, kind):
    return [r.event for r in served.journal.read() if isinstance(r.event, kind)]


async def submit(served, path="/test/bytes", **headers) -> int:
    response = await served.client.post(
        path, data=b"x", headers={**ASYNC_STORE, **headers}
    )
    assert response.status_code == 202, await response.get_data()
    return int(response.headers["x-arango-async-id"])


async def status(served, job_id: int) -> int:
    return (await served.client.get(f"/_api/job/{job_id}")).status_code


# Each test asks for autojump_clock itself: pytest-trio takes the clock from
# the test's own arguments, not from its fixtures'.
@pytest.fixture
async def delayed(gates):
    settings = Settings(journal=":memory:", shutdown_timeout=0, max_running=1)
    async with serve_app(
        settings,
        clock=TrioWallClock(),
        setup=lambda app: add_test_routes(app, gates),
    ) as served:
        yield served


async def test_a_delayed_job_is_pending_until_its_time(autojump_clock, delayed):
    job_id = await submit(delayed, **{"x-eventjobs-delay": "30"})
    [queued] = events(delayed, JobQueued)
    assert queued.not_before == pytest.approx(queued.time + 30, abs=0.5)
    await trio.sleep(29.9)
    assert await status(delayed, job_id) == 204
    pending = await delayed.client.get("/_api/job/pending")
    assert await pending.get_json() == [str(job_id)]
    assert events(delayed, JobStarted) == []
    await trio.sleep(0.2)
    assert await status(delayed, job_id) == 200
    [started] = events(delayed, JobStarted)
    assert started.time >= queued.not_before


@pytest.mark.parametrize(
    "value",
    [
        lambda now: f"{now + 3600:.3f}",
        lambda now: (
            datetime.fromtimestamp(now + 3600, UTC).isoformat().replace("+00:00", "Z")
        ),
        lambda now: datetime.fromtimestamp(now + 3600, UTC).astimezone(UTC).isoformat(),
    ],
    ids=["unix", "rfc3339-z", "rfc3339-offset"],
)
async def test_not_before_takes_unix_seconds_or_rfc3339(autojump_clock, delayed, value):
    now = delayed.clock()
    job_id = await submit(delayed, **{"x-eventjobs-not-before": value(now)})
    [queued] = events(delayed, JobQueued)
    assert queued.not_before == pytest.approx(now + 3600, abs=0.001)
    await trio.sleep(3599)
    assert await status(delayed, job_id) == 204
    await trio.sleep(2)
    assert await status(delayed, job_id) == 200


async def test_a_time_already_past_starts_at_once(autojump_clock, delayed):
    job_id = await submit(delayed, **{"x-eventjobs-not-before": "1000"})
    assert events(delayed, JobQueued)[0].not_before is None
    await trio.sleep(0.1)
    assert await status(delayed, job_id) == 200


async def test_a_delayed_job_does_not_hold_the_others_back(autojump_clock, delayed):
    later = await submit(delayed, **{"x-eventjobs-delay": "60"})
    now = await submit(delayed)
    await trio.sleep(1)
    assert (await status(delayed, now), await status(delayed, later)) == (200, 204)


async def test_cancelling_a_delayed_job_gives_410_and_it_never_starts(
    autojump_clock, delayed
):
    job_id = await submit(delayed, **{"x-eventjobs-delay": "60"})
    cancel = await delayed.client.put(f"/_api/job/{job_id}/cancel")
    assert cancel.status_code == 200
    await trio.sleep(120)
    assert (await delayed.client.put(f"/_api/job/{job_id}")).status_code == 410
    assert events(delayed, JobStarted) == []


@pytest.mark.parametrize(
    "headers, says",
    [
        ({"x-eventjobs-delay": "soon"}, "x-eventjobs-delay"),
        ({"x-eventjobs-delay": "-5"}, "x-eventjobs-delay"),
        ({"x-eventjobs-delay": "2592001"}, "--max-delay"),
        ({"x-eventjobs-not-before": "tomorrow"}, "RFC 3339"),
        ({"x-eventjobs-not-before": "2026-12-06T20:00:00"}, "RFC 3339"),
        ({"x-eventjobs-not-before": "2026-13-06T20:00:00Z"}, "RFC 3339"),
        ({"x-eventjobs-not-before": "99999999999"}, "--max-delay"),
        (
            {"x-eventjobs-delay": "1", "x-eventjobs-not-before": "1"},
            "not both",
        ),
    ],
)
async def test_a_bad_or_too_distant_time_is_400_and_nothing_is_queued(
    delayed, headers, says
):
    response = await delayed.client.post(
        "/test/bytes", data=b"x", headers={**ASYNC_STORE, **headers}
    )
    assert response.status_code == 400
    body = await response.get_json()
    assert body["errorNum"] == 400 and says in body["errorMessage"]
    assert events(delayed, JobQueued) == []


@pytest.mark.parametrize("snapshot", [True, False], ids=["snapshot", "replay"])
async def test_after_a_restart_it_starts_at_its_time_not_at_once_and_not_never(
    tmp_path, gates, mock_clock, snapshot
):
    """Trio's clock moves only when the test jumps it (the file journal works
    in threads, and an autojump would fire the app's own timeouts while it
    does); the job's end is waited for with x-eventjobs-wait, an event."""
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    clock = TrioWallClock()

    def setup(app):
        add_test_routes(app, gates)

    async with serve_app(settings, clock=clock, setup=setup) as served:
        job_id = await submit(served, **{"x-eventjobs-delay": "600"})
        due = events(served, JobQueued)[0].not_before
    if not snapshot:
        for path in (tmp_path / "journal").glob("snapshot*"):
            path.unlink()
    mock_clock.jump(100)  # the server is down for a while
    async with serve_app(settings, clock=clock, setup=setup) as served:
        await settle()
        assert await status(served, job_id) == 204
        mock_clock.jump(due - clock() - 1)
        await settle()
        assert await status(served, job_id) == 204
        mock_clock.jump(2)
        done = await served.client.get(
            f"/_api/job/{job_id}", headers={"x-eventjobs-wait": "10"}
        )
        assert done.status_code == 200
        [started] = events(served, JobStarted)
        assert started.time >= due
