"""eventjobs: an event-sourced async job server speaking ArangoDB's job API.

Public surface::

    from eventjobs import create_app, Settings
    app = create_app(Settings(journal="./journal"))

    @app.route("/report", methods=["POST"])
    async def report(): ...   # now also runs as a job with x-arango-async

For long-running work in a handler (docs/long-running.md):
``run_in_process`` (blocking work a cancel kills), ``run_in_thread``
(blocking work that reports ``cancelling`` until it returns) and
``report_progress``.
"""

from __future__ import annotations

from ._version import __version__
from .http import (
    create_app,
    current_caller,
    current_database,
    current_job_id,
    rerun_safe,
    runtime_of,
)
from .settings import Settings
from .work import report_progress, run_in_process, run_in_thread

__all__ = [
    "Settings",
    "__version__",
    "create_app",
    "current_caller",
    "current_database",
    "current_job_id",
    "rerun_safe",
    "report_progress",
    "run_in_process",
    "run_in_thread",
    "runtime_of",
]
