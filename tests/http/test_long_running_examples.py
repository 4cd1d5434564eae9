"""The runnable examples of docs/long-running.md: an async, a worker-process
and a thread endpoint, each with progress, a timeout and a cancel."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

import pytest
import trio

from tests.support import submit

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
WAIT = {"x-eventjobs-wait": "30"}


@pytest.fixture
async def client(monkeypatch):
    """A test client of a freshly imported long_running_app (memory journal)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("EVENTJOBS_JOURNAL", ":memory:")
    monkeypatch.setenv("EVENTJOBS_WORKER_PROCESSES", "1")
    monkeypatch.setenv("EVENTJOBS_SHUTDOWN_TIMEOUT", "0")
    monkeypatch.setenv("EVENTJOBS_PROGRESS_INTERVAL", "0")
    sys.modules.pop("long_running_app", None)  # a new app (and runtime) per test
    module = importlib.import_module("long_running_app")
    async with module.app.test_app() as test_app:
        yield test_app.test_client()


async def result(client, job_id: int) -> tuple[int, dict]:
    response = await client.put(f"/_api/job/{job_id}", headers=WAIT)
    return response.status_code, json.loads(await response.get_data())


async def progress_of(client, job_id: int, seconds: float = 10.0) -> str:
    """Poll (bounded) the status until it shows progress; real work runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await client.get(f"/_api/job/{job_id}")
        if "x-eventjobs-progress" in response.headers:
            return response.headers["x-eventjobs-progress"]
        await trio.sleep(0.01)
    raise AssertionError("no progress shown")


# -- async ---------------------------------------------------------------------------


async def test_async_example_finishes_with_its_answer(client):
    """The async crawl stores its answer."""
    job = await submit(client, "POST", "/crawl?pages=3")
    assert await result(client, job) == (200, {"pages": 3})


async def test_async_example_shows_progress(client):
    """The async crawl's status shows its progress while it runs."""
    job = await submit(client, "POST", "/crawl?pages=200")
    assert "page" in await progress_of(client, job)
    await client.put(f"/_api/job/{job}/cancel")


async def test_async_example_times_out(client):
    """The async crawl past x-eventjobs-timeout stores 504."""
    job = await submit(
        client, "POST", "/crawl?pages=1000", headers={"x-eventjobs-timeout": "0.1"}
    )
    assert (await result(client, job))[0] == 504


async def test_async_example_cancels(client):
    """A cancelled async crawl stores 410."""
    job = await submit(client, "POST", "/crawl?pages=1000")
    await progress_of(client, job)
    await client.put(f"/_api/job/{job}/cancel")
    assert (await result(client, job))[0] == 410


# -- worker processes ----------------------------------------------------------------


async def test_process_example_counts_primes(client):
    """The worker-process endpoint counts the primes below 1000 (168)."""
    job = await submit(client, "POST", "/primes?limit=1000&chunks=4")
    assert await result(client, job) == (200, {"limit": 1000, "primes": 168})


async def test_process_example_shows_progress(client):
    """Between worker calls, the primes job reports progress."""
    job = await submit(client, "POST", "/primes?limit=20000000&chunks=1000")
    assert "below" in await progress_of(client, job)
    await client.put(f"/_api/job/{job}/cancel")


async def test_process_example_times_out(client):
    """A primes job past its timeout stores 504."""
    job = await submit(
        client,
        "POST",
        "/primes?limit=200000000&chunks=1",
        headers={"x-eventjobs-timeout": "0.3"},
    )
    assert (await result(client, job))[0] == 504


async def test_process_example_cancels(client):
    """A cancelled primes job stores 410 at once, its worker killed."""
    job = await submit(client, "POST", "/primes?limit=20000000&chunks=1000")
    await progress_of(client, job)
    await client.put(f"/_api/job/{job}/cancel")
    assert (await result(client, job))[0] == 410


# -- threads -------------------------------------------------------------------------


async def test_thread_example_converts(client):
    """The thread endpoint stores its answer."""
    job = await submit(client, "POST", "/convert?seconds=0.05")
    assert await result(client, job) == (200, {"result": "converted"})


async def test_thread_example_shows_progress_from_its_thread(client):
    """The conversion reports progress from inside its thread."""
    job = await submit(client, "POST", "/convert?seconds=2")
    assert "converted" in await progress_of(client, job)
    assert (await result(client, job))[0] == 200


async def test_thread_example_times_out_after_its_thread_returns(client):
    """A conversion past its timeout says cancelling, then stores 504."""
    job = await submit(
        client, "POST", "/convert?seconds=0.5", headers={"x-eventjobs-timeout": "0.1"}
    )
    assert (await result(client, job))[0] == 504


async def test_thread_example_cancel_reports_cancelling_then_410(client):
    """A cancelled conversion is cancelling until its thread returns, then 410."""
    job = await submit(client, "POST", "/convert?seconds=1")
    await progress_of(client, job)
    await client.put(f"/_api/job/{job}/cancel")
    states = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # bounded: the thread is real
        status = await client.get(f"/_api/job/{job}")
        states.add((status.status_code, status.headers.get("x-eventjobs-state")))
        if status.status_code == 200:
            break
        await trio.sleep(0.01)
    assert (204, "cancelling") in states
    assert (await result(client, job))[0] == 410
