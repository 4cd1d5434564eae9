"""``run_in_thread``: blocking work in a thread, and the truth about stopping it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio

from ..actors.handle import CURRENT_JOB, JobHandle

T = TypeVar("T")


async def run_in_thread(
    function: Callable[..., T],
    *args: Any,
    limiter: trio.CapacityLimiter | None = None,
) -> T:
    """Run ``function(*args)`` in a worker thread and return its result.

    *limiter* bounds how many calls sharing it run at once (``--app-threads``);
    a call waits for a free place first, and a cancel during that wait just
    stops it (nothing ran). Without one, trio's default limit applies.

    Use it for blocking code that must stay in the server's process; prefer
    :func:`run_in_process` when the work can be stopped by killing it.

    Cancellation: a thread cannot be interrupted. When the job is cancelled
    or times out while the function runs, the job records ``cancelling``
    (its status answer then carries ``x-eventjobs-state: cancelling``) and
    this call waits, shielded, until the function returns; then
    ``trio.Cancelled`` propagates and the job is recorded cancelled (or timed
    out). Its result is discarded. Only a server shutdown stops the wait
    early (the thread is then abandoned and the job recorded interrupted).
    In a synchronous request a cancel (the client went away) waits for the
    thread the same way, with nothing recorded.

    The function may call :func:`eventjobs.report_progress`.
    """
    handle = CURRENT_JOB.get()
    token = trio.lowlevel.current_trio_token()
    returned = trio.Event()

    def target() -> T:
        try:
            return function(*args)
        finally:
            try:
                token.run_sync_soon(returned.set)
            except trio.RunFinishedError:
                pass  # the server is gone; nobody waits any more

    # The place is taken here, where a cancel only ends the wait, and held
    # until the thread has returned (or, at shutdown, is abandoned).
    async with limiter or trio.to_thread.current_default_thread_limiter():
        # A cancel that came before the thread started must not be waited
        # for as if it ran: trio would raise it before starting the thread,
        # and `returned` would never be set. Checked here, without yielding,
        # it is raised here, and trio's own check (with a private limiter
        # that never blocks) cannot fire any more.
        await trio.lowlevel.checkpoint_if_cancelled()
        return await _run(target, returned, handle)


async def _run(
    target: Callable[[], T], returned: trio.Event, handle: JobHandle | None
) -> T:
    try:
        # abandon_on_cancel: the cancel reaches us at once (so we can say
        # "cancelling" now); `returned` tells us when the thread is done.
        return await trio.to_thread.run_sync(
            target, abandon_on_cancel=True, limiter=trio.CapacityLimiter(1)
        )
    except trio.Cancelled:
        if handle is None:
            with trio.CancelScope(shield=True):
                await returned.wait()
            raise
        handle.report_cancelling()
        scope = handle.uninterruptible_wait()
        try:
            with scope:
                await returned.wait()
        finally:
            handle.end_wait(scope)
        raise
