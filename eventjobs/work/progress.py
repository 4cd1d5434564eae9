"""``report_progress``: how far a job is, for its status answer and the journal."""

from __future__ import annotations

import trio

from ..actors.handle import CURRENT_JOB, check_fraction


def report_progress(fraction: float, message: str = "") -> None:
    """Report that the current job is *fraction* (0 to 1) done, with a short
    *message* (cut to 200 characters).

    Callable from the job's async code and from a function running in
    :func:`run_in_thread` (not from a worker process: report between
    :func:`run_in_process` calls instead). Reports are journaled as
    ``progress`` events, at most one per job per ``--progress-interval``
    (the last one is always kept), and the latest recorded one is shown on
    the job's 204 status answer as ``x-eventjobs-progress``. Outside a job
    (a synchronous request) it does nothing. Never blocks, never checkpoints.

    Raises:
        ValueError: *fraction* is not a number from 0 to 1.
        TypeError: *message* is not a string.
    """
    handle = CURRENT_JOB.get()
    check_fraction(fraction)
    if not isinstance(message, str):
        raise TypeError(
            f"a progress message must be a str, not {type(message).__name__}"
        )
    if handle is None:
        return
    if trio.lowlevel.in_trio_run():
        handle.report_progress(fraction, message)
        return
    # In a worker thread: hand the report to the trio thread (checked above,
    # so nothing raises there).
    try:
        handle.token.run_sync_soon(handle.report_progress, fraction, message)
    except trio.RunFinishedError:
        pass
