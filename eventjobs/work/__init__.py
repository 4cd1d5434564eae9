"""Helpers for handlers with long-running work (see docs/long-running.md).

Which helper for which work:

- **async code** (trio, httpx, anything that awaits): just ``await`` it in the
  handler; a cancel or a timeout stops it at its next checkpoint.
- :func:`run_in_process`: blocking or CPU-bound Python that you can move to
  another process (a module-level function, picklable arguments and
  result). A cancel or a timeout **kills the process**: the work really stops.
- :func:`run_in_thread`: blocking code that must stay in the server process
  (it uses unpicklable objects, shared state, a C library that releases the
  GIL). A thread cannot be stopped: on a cancel or a timeout the job reports
  ``cancelling`` and is recorded cancelled only once the function returns.
- :func:`report_progress`: from any of the three, how far the job is.
"""

from __future__ import annotations

from .process import run_in_process
from .progress import report_progress
from .thread import run_in_thread

__all__ = ["report_progress", "run_in_process", "run_in_thread"]
