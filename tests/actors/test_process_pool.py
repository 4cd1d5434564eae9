"""The worker-process pool, on real processes."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from eventjobs.actors.process_pool import ProcessPool
from eventjobs.errors import NotPicklable, WorkerProcessError
from tests import functions


@contextlib.asynccontextmanager
async def running_pool(size: int = 1) -> AsyncIterator[ProcessPool]:
    pool = ProcessPool(size)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.serve)
        yield pool
        nursery.cancel_scope.cancel()


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def poll(predicate, seconds: float = 5.0) -> bool:
    """Bounded polling of real processes: True once *predicate* holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await trio.sleep(0.005)
    return predicate()


async def test_call_returns_the_function_result():
    """A call returns what the function returned in the worker."""
    async with running_pool() as pool:
        assert await pool.run(functions.add, 2, 40) == 42


async def test_call_runs_in_another_process():
    """The function runs in a worker process, not in the server's."""
    async with running_pool() as pool:
        assert await pool.run(functions.pid) != os.getpid()


async def test_worker_is_reused_between_calls():
    """Consecutive calls reuse the same worker process."""
    async with running_pool() as pool:
        assert await pool.run(functions.pid) == await pool.run(functions.pid)


async def test_exception_of_the_function_is_raised_in_the_caller():
    """What the function raises is raised again by the call."""
    async with running_pool() as pool:
        with pytest.raises(ValueError, match="wrong input"):
            await pool.run(functions.fail, "wrong input")


async def test_unpicklable_function_is_a_clear_error():
    """A lambda cannot cross to a worker: NotPicklable, saying why."""
    async with running_pool() as pool:
        with pytest.raises(NotPicklable, match="defined at module level"):
            await pool.run(lambda: 1)


async def test_unpicklable_result_is_a_worker_error():
    """A result that cannot be pickled back is a WorkerProcessError."""
    async with running_pool() as pool:
        with pytest.raises(WorkerProcessError, match="cannot be pickled"):
            await pool.run(functions.unpicklable_result)


async def test_worker_that_dies_is_an_error_and_is_replaced():
    """A worker exiting mid-call raises WorkerProcessError; the next call works."""
    async with running_pool() as pool:
        with pytest.raises(WorkerProcessError, match="exited"):
            await pool.run(functions.exit_abruptly)
        assert await pool.run(functions.add, 1, 1) == 2


async def test_cancel_kills_a_busy_worker_within_a_second(tmp_path: Path):
    """Cancelling a call to a CPU loop that never yields kills its process."""
    marker = tmp_path / "started"
    async with running_pool() as pool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pool.run, functions.spin_forever, str(marker))
            assert await poll(marker.exists)
            pid = int(marker.read_text())
            nursery.cancel_scope.cancel()
        assert await poll(lambda: not process_exists(pid), seconds=1.0)


async def test_pool_keeps_working_after_a_cancel(tmp_path: Path):
    """After a killed call, a fresh worker answers the next one."""
    marker = tmp_path / "started"
    async with running_pool() as pool:
        with trio.move_on_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(pool.run, functions.spin_forever, str(marker))
                assert await poll(marker.exists)
                nursery.cancel_scope.cancel()
        assert await pool.run(functions.add, 20, 22) == 42
        assert int(marker.read_text()) not in pool.statistics().pids


async def test_calls_beyond_the_pool_size_wait_for_a_worker(tmp_path: Path):
    """With one process, a second call waits until the first is done."""
    marker = tmp_path / "started"
    async with running_pool(size=1) as pool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pool.run, functions.spin_forever, str(marker))
            assert await poll(marker.exists)
            with trio.move_on_after(0.2) as waited:
                await pool.run(functions.add, 1, 1)
            assert waited.cancelled_caught
            assert pool.statistics().processes == 1
            nursery.cancel_scope.cancel()


async def test_shutdown_stops_every_worker():
    """When the pool's nursery ends, its worker processes are gone."""
    async with running_pool(size=2) as pool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pool.run, functions.add, 1, 2)
            nursery.start_soon(pool.run, functions.add, 3, 4)
        pids = pool.statistics().pids
        assert len(pids) == 2
    assert not any(process_exists(pid) for pid in pids)


async def test_worker_deaf_to_sigterm_is_killed_after_the_grace(tmp_path: Path):
    """A worker ignoring SIGTERM is SIGKILLed after the grace period."""
    marker = tmp_path / "started"
    async with running_pool() as pool:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(pool.run, functions.spin_ignoring_sigterm, str(marker))
            assert await poll(marker.exists)
            pid = int(marker.read_text())
            nursery.cancel_scope.cancel()
        assert await poll(lambda: not process_exists(pid), seconds=1.0)
