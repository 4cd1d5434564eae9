"""``x-eventjobs-priority``: behind ``--max-running``, a higher priority
starts first, equal ones in submission order; a job that waits gains a level
per ``--priority-aging`` seconds; a bad value is 400 with nothing queued.

Time is trio's MockClock with autojump (each test asks for it), the
server's wall clock read from it."""

from __future__ import annotations

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued, JobStarted
from tests.http.conftest import add_test_routes
from tests.http.test_delays import TrioWallClock
from tests.support import ASYNC_STORE, serve_app, settle


def started_order(served) -> list[int]:
    return [
        r.event.job_id for r in served.journal.read() if isinstance(r.event, JobStarted)
    ]


async def submit(served, priority: str | None = None, path="/test/bytes") -> int:
    headers = dict(ASYNC_STORE)
    if priority is not None:
        headers["x-eventjobs-priority"] = priority
    response = await served.client.post(path, data=b"x", headers=headers)
    assert response.status_code == 202, await response.get_data()
    return int(response.headers["x-arango-async-id"])


def app_with(gates, **settings):
    return serve_app(
        Settings(journal=":memory:", shutdown_timeout=0, max_running=1, **settings),
        clock=TrioWallClock(),
        setup=lambda app: add_test_routes(app, gates),
    )


async def test_higher_priorities_start_first_and_equal_ones_in_order(
    autojump_clock, gates
):
    async with app_with(gates) as served:
        hold = await submit(served, path="/test/wait/hold")
        await settle()
        plain = await submit(served)
        high = await submit(served, "5")
        low = await submit(served, "-2")
        high_too = await submit(served, "+5")
        plain_too = await submit(served, "0")
        gates.open("hold")
        await trio.sleep(1)
        assert started_order(served) == [hold, high, high_too, plain, plain_too, low]


async def test_without_the_header_jobs_start_in_submission_order(autojump_clock, gates):
    async with app_with(gates) as served:
        hold = await submit(served, path="/test/wait/hold")
        await settle()
        rest = [await submit(served) for _ in range(4)]
        gates.open("hold")
        await trio.sleep(1)
        assert started_order(served) == [hold, *rest]


async def test_a_waiting_job_gains_a_level_per_aging_interval(autojump_clock, gates):
    async with app_with(gates, priority_aging=10) as served:
        hold = await submit(served, path="/test/wait/hold")
        await settle()
        old_low = await submit(served, "-1")
        await trio.sleep(25)  # -1 + 2 levels: above a new 0, below a new 2
        new_plain = await submit(served, "0")
        new_high = await submit(served, "2")
        gates.open("hold")
        await trio.sleep(1)
        assert started_order(served) == [hold, new_high, old_low, new_plain]


async def test_aging_off_keeps_the_priorities(autojump_clock, gates):
    async with app_with(gates, priority_aging=0) as served:
        hold = await submit(served, path="/test/wait/hold")
        await settle()
        old_low = await submit(served, "-1")
        await trio.sleep(3600)
        new_plain = await submit(served, "0")
        gates.open("hold")
        await trio.sleep(1)
        assert started_order(served) == [hold, new_plain, old_low]


@pytest.mark.parametrize("value", ["11", "-11", "1.5", "high", "", "0x1", "1 2"])
async def test_a_bad_priority_is_400_and_nothing_is_queued(served, value):
    response = await served.client.post(
        "/test/bytes",
        data=b"x",
        headers={**ASYNC_STORE, "x-eventjobs-priority": value},
    )
    assert response.status_code == 400
    body = await response.get_json()
    assert "x-eventjobs-priority" in body["errorMessage"]
    assert "-10 to 10" in body["errorMessage"]
    assert [r for r in served.journal.read() if isinstance(r.event, JobQueued)] == []


async def test_the_priority_is_recorded_and_survives_a_restart(tmp_path, gates):
    settings = Settings(
        journal=str(tmp_path / "journal"), shutdown_timeout=0, max_running=1
    )

    def setup(app):
        add_test_routes(app, gates)

    async with serve_app(settings, setup=setup) as served:
        hold = await submit(served, path="/test/wait/hold")
        await settle()
        low = await submit(served, "-3")
        high = await submit(served, "7")
    # The hold job was interrupted by the stop; the other two wait, queued.
    async with serve_app(settings, setup=setup) as served:
        assert served.runtime.jobs.table.jobs[high].priority == 7
        done = await served.client.get(
            f"/_api/job/{low}", headers={"x-eventjobs-wait": "10"}
        )
        assert done.status_code == 200
        assert started_order(served) == [hold, high, low]
