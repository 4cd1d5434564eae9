"""A pool of worker processes for blocking, CPU-bound work that must stop
when its job is cancelled.

``await pool.run(function, *args)`` runs a plain function in one of at most
``size`` worker processes and returns its result. Functions, arguments and
results cross the process boundary by pickle, so the function must be
importable by the worker (defined at module level, not a lambda or nested).

Cancellation: cancelling the calling task kills the worker running the call
(SIGTERM, then SIGKILL after ``kill_grace`` seconds), waits until it is gone,
starts a replacement in the pool's nursery and re-raises ``trio.Cancelled``.
A worker that dies on its own during a call is replaced the same way and the
call raises :class:`WorkerProcessError`.

A pool made with ``warmup=(function, args)`` has each new worker call it
once before its first call (``--app-isolation process`` imports the app so),
replacements included; a warm-up that raises makes that start fail with
:class:`WorkerProcessError`.

Workers are started when first needed (a server that never calls the pool
starts no process) and kept for later calls. Start the pool with
``await nursery.start(pool.serve)``; when :meth:`serve` is cancelled every
worker is stopped before it returns.
"""

from __future__ import annotations

import logging
import pickle
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio

from ..errors import NotPicklable, WorkerProcessError

log = logging.getLogger("eventjobs.pool")

T = TypeVar("T")

_CHILD = Path(__file__).with_name("_child.py")
_LENGTH = struct.Struct(">Q")

#: How long a worker gets to exit after SIGTERM before it is SIGKILLed.
KILL_GRACE_SECONDS = 0.5


@attrs.define(eq=False)
class _Worker:
    """One worker process and the bytes read from it but not yet consumed."""

    process: trio.Process
    buffer: bytearray = attrs.Factory(bytearray)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, payload: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(_LENGTH.pack(len(payload)) + payload)

    async def receive(self) -> bytes:
        (size,) = _LENGTH.unpack(await self._receive_exactly(_LENGTH.size))
        return await self._receive_exactly(size)

    async def _receive_exactly(self, size: int) -> bytes:
        assert self.process.stdout is not None
        while len(self.buffer) < size:
            chunk = await self.process.stdout.receive_some(
                max(65536, size - len(self.buffer))
            )
            if not chunk:
                status = await self.process.wait()
                raise WorkerProcessError(
                    f"the worker process {self.pid} exited (status {status}) during the call"
                )
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


@attrs.frozen
class PoolStatistics:
    size: int
    #: Worker processes alive or starting.
    processes: int
    idle: int
    #: Process ids of the live workers (for tests and diagnostics).
    pids: tuple[int, ...]


class ProcessPool:
    """See the module docstring."""

    def __init__(
        self,
        size: int,
        *,
        kill_grace: float = KILL_GRACE_SECONDS,
        warmup: tuple[Callable[..., Any], tuple[Any, ...]] | None = None,
    ) -> None:
        self.size = size
        self._warmup = None if warmup is None else _dumps(warmup[0], warmup[1], {})
        self._kill_grace = kill_grace
        self._calls = trio.Semaphore(size)
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        #: Workers alive or being started; never more than ``size``.
        self._live = 0
        self._idle_changed = trio.lowlevel.ParkingLot()
        self._nursery: trio.Nursery | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<ProcessPool size={self.size} live={self._live} idle={len(self._idle)}>"
        )

    def statistics(self) -> PoolStatistics:
        return PoolStatistics(
            self.size, self._live, len(self._idle), tuple(w.pid for w in self._workers)
        )

    async def serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep the pool's nursery (replacements start there) until cancelled;
        then stop every worker."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._closed = True
            with trio.CancelScope(shield=True):
                for worker in list(self._workers):
                    await self._stop(worker)

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` in a worker process; see module docs.

        Raises:
            NotPicklable: the function or an argument cannot be pickled.
            WorkerProcessError: the worker died, could not start, or the
                result cannot be pickled.
            Exception: whatever the function raised, re-raised here.
        """
        payload = _dumps(function, args, kwargs)
        async with self._calls:
            worker = await self._checkout()
            try:
                await worker.send(payload)
                answer = await worker.receive()
            except BaseException:
                # Cancelled, or the worker died: either way it is not reusable
                # (it may be mid-call), so it goes and a fresh one takes its place.
                await self._discard(worker)
                raise
            self._idle.append(worker)
            self._wake()
        kind, value = pickle.loads(answer)
        if kind == "ok":
            return value
        if kind == "raised":
            raise value
        raise WorkerProcessError(
            f"{getattr(function, '__qualname__', function)}: {value}"
        )

    async def _checkout(self) -> _Worker:
        while True:
            if self._closed:
                raise WorkerProcessError("the worker pool is shut down")
            if self._idle:
                return self._idle.pop()
            if self._live < self.size:
                self._live += 1
                return await self._start_worker()
            # Every process is busy or being replaced; a replacement or a
            # returning call will wake us.
            await self._idle_changed.park()

    def _wake(self) -> None:
        self._idle_changed.unpark_all()

    async def _start_worker(self) -> _Worker:
        """Start a process (``_live`` already counts it)."""
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, str(_CHILD)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except BaseException as error:
            self._live -= 1
            self._wake()
            if isinstance(error, OSError):
                raise WorkerProcessError(
                    f"cannot start a worker process: {error}"
                ) from error
            raise
        worker = _Worker(process)
        self._workers.add(worker)
        try:
            await worker.send(pickle.dumps(list(sys.path)))
            if self._warmup is not None:
                await worker.send(self._warmup)
                kind, value = pickle.loads(await worker.receive())
                if kind != "ok":
                    raise WorkerProcessError(
                        f"a new worker process failed to warm up: {value}"
                    )
        except BaseException:
            await self._discard(worker, replace=False)
            raise
        return worker

    async def _discard(self, worker: _Worker, *, replace: bool = True) -> None:
        await self._stop(worker)
        self._live -= 1
        if replace and not self._closed and self._nursery is not None:
            self._live += 1
            self._nursery.start_soon(self._replace)
        self._wake()

    async def _replace(self) -> None:
        try:
            worker = await self._start_worker()
        except WorkerProcessError as error:
            log.error("%s", error)
            return
        self._idle.append(worker)
        self._wake()

    async def _stop(self, worker: _Worker) -> None:
        """SIGTERM, SIGKILL after the grace period, and wait until it is gone.

        Shielded: a process the pool started is always reaped.
        """
        with trio.CancelScope(shield=True):
            process = worker.process
            if process.returncode is None:
                process.terminate()
                with trio.move_on_after(self._kill_grace):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    await stream.aclose()
            await process.wait()
            self._workers.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)


def _dumps(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> bytes:
    try:
        return pickle.dumps((function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        name = getattr(function, "__qualname__", repr(function))
        raise NotPicklable(
            f"cannot send {name} to a worker process: the function must be defined at module "
            "level (not a lambda, nested function or bound method of an unpicklable object) "
            f"and its arguments must be picklable ({type(error).__name__}: {error})"
        ) from None
