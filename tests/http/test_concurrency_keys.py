"""``x-eventjobs-concurrency-key``: at most ``--key-concurrency`` jobs of one
owner with the same key run at once (on one server); the others wait,
pending, in priority order, also across a restart; other keys, other
owners and jobs without a key are not held back."""

from __future__ import annotations

import pytest

from eventjobs import Settings
from eventjobs.events import JobDone, JobQueued, JobStarted
from tests.http.conftest import add_test_routes
from tests.support import (
    ASYNC_STORE,
    auth_settings,
    basic,
    serve_app,
    settle,
    submit,
)

KEY = "x-eventjobs-concurrency-key"


def started(served) -> list[int]:
    return [
        r.event.job_id for r in served.journal.read() if isinstance(r.event, JobStarted)
    ]


def keyed(gates, settings=None, **values):
    settings = settings or Settings(
        journal=":memory:", shutdown_timeout=0, max_running=8, **values
    )
    return serve_app(settings, setup=lambda app: add_test_routes(app, gates))


async def job(served, gate, key=None, **headers):
    if key is not None:
        headers[KEY] = key
    return await submit(served.client, "POST", f"/test/wait/{gate}", headers=headers)


async def test_one_job_per_key_runs_and_the_next_waits_pending(gates):
    async with keyed(gates) as served:
        first = await job(served, "a", "customer-1")
        second = await job(served, "b", "customer-1")
        other = await job(served, "c", "customer-2")
        plain = await job(served, "d")
        await settle()
        assert set(started(served)) == {first, other, plain}
        assert (await served.client.get(f"/_api/job/{second}")).status_code == 204
        pending = await (await served.client.get("/_api/job/pending")).get_json()
        assert str(second) in pending
        gates.open("a")
        await settle()
        assert started(served)[-1] == second
        for gate in "bcd":
            gates.open(gate)


async def test_key_concurrency_lets_n_run_at_once(gates):
    async with keyed(gates, key_concurrency=2) as served:
        ids = [await job(served, gate, "k") for gate in "abc"]
        await settle()
        assert started(served) == ids[:2]
        gates.open("b")
        await settle()
        assert started(served) == ids
        for gate in "ac":
            gates.open(gate)


async def test_the_jobs_waiting_for_a_key_start_by_priority_then_in_order(gates):
    async with keyed(gates) as served:
        hold = await job(served, "hold", "k")
        low = await job(served, "x", "k", **{"x-eventjobs-priority": "-1"})
        plain = await job(served, "x", "k")
        high = await job(served, "x", "k", **{"x-eventjobs-priority": "3"})
        plain_too = await job(served, "x", "k")
        await settle()
        gates.open("x")
        gates.open("hold")
        await settle()
        assert started(served) == [hold, high, plain, plain_too, low]


async def test_keys_are_per_owner(tmp_path, gates):
    settings = auth_settings(tmp_path, max_running=8)
    async with keyed(gates, settings) as served:
        alice = await job(served, "a", "same", **basic("alice"))
        alice_too = await job(served, "b", "same", **basic("alice"))
        bob = await job(served, "c", "same", **basic("bob"))
        await settle()
        assert set(started(served)) == {alice, bob}
        assert alice_too not in started(served)
        for gate in "abc":
            gates.open(gate)


async def test_a_cancelled_waiting_job_gives_way_to_the_next(gates):
    async with keyed(gates) as served:
        first = await job(served, "a", "k")
        second = await job(served, "b", "k")
        third = await job(served, "c", "k")
        await settle()
        cancel = await served.client.put(f"/_api/job/{second}/cancel")
        assert cancel.status_code == 200
        assert (await served.client.put(f"/_api/job/{second}")).status_code == 410
        gates.open("a")
        await settle()
        assert started(served) == [first, third]
        gates.open("c")


@pytest.mark.parametrize("value", ["", "has space", "k" * 256, "caf\u00e9"])
async def test_a_bad_key_is_400_and_nothing_is_queued(gates, value):
    async with keyed(gates) as served:
        response = await served.client.post(
            "/test/bytes", headers={**ASYNC_STORE, KEY: value}
        )
        assert response.status_code == 400
        body = await response.get_json()
        assert KEY in body["errorMessage"]
        assert not any(isinstance(r.event, JobQueued) for r in served.journal.read())


async def test_the_limit_holds_after_a_restart(tmp_path, gates):
    settings = Settings(
        journal=str(tmp_path / "journal"), shutdown_timeout=0, max_running=8
    )
    async with keyed(gates, settings) as served:
        await job(served, "a", "k")  # interrupted by the stop
        second = await job(served, "b", "k")
        third = await job(served, "c", "k")
        await settle()
        assert second not in started(served)
    async with keyed(gates, settings) as served:
        assert served.runtime.jobs.table.jobs[third].concurrency_key == "k"
        gates.open("b")
        gates.open("c")
        done = await served.client.get(
            f"/_api/job/{third}", headers={"x-eventjobs-wait": "10"}
        )
        assert done.status_code == 200
        events = [r.event for r in served.journal.read()]
        second_done = next(
            i
            for i, e in enumerate(events)
            if e.job_id == second and isinstance(e, JobDone)
        )
        third_started = next(
            i
            for i, e in enumerate(events)
            if e.job_id == third and isinstance(e, JobStarted)
        )
        assert second_done < third_started
