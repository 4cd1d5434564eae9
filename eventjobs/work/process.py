"""``run_in_process``: blocking work in a worker process that a cancel kills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..actors.handle import CURRENT_POOL
from ..errors import NotRunning

T = TypeVar("T")


async def run_in_process(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function(*args, **kwargs)`` in one of the server's worker
    processes (``--worker-processes``) and return its result.

    The function must be importable by the worker: defined at module level in
    a module on ``sys.path``, not a lambda or nested function. Arguments and
    result travel by pickle. At most ``--worker-processes`` calls run at once;
    more wait for a free process (a cancel stops the wait too).

    Cancellation (a client's cancel, the job's timeout, shutdown): the worker
    process is killed (SIGTERM, then SIGKILL half a second later), a fresh
    one takes its place in the pool, and ``trio.Cancelled`` propagates: the
    job ends as cancelled (410) or timed out (504) at once.

    Raises:
        NotPicklable: the function or an argument cannot be pickled.
        WorkerProcessError: the process died during the call (a crash, an
            ``os._exit``), or the result cannot be pickled.
        NotRunning: called outside a request of a running eventjobs server.
        Exception: whatever the function raised, re-raised here.
    """
    pool = CURRENT_POOL.get()
    if pool is None:
        raise NotRunning(
            "run_in_process needs a running eventjobs server: call it from a request "
            "handler or a job of an app made by eventjobs.create_app"
        )
    return await pool.run(function, *args, **kwargs)
