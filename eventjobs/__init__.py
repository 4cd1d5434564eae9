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

The names are imported on first use (PEP 562): ``import eventjobs`` alone,
which every ``eventjobs.*`` import implies, loads no server (Quart, trio,
hypercorn), so that the command-line client (``eventjobs job``) starts in
a fraction of the time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # for type checkers and editors; at run time see __getattr__
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
    "report_progress",
    "rerun_safe",
    "run_in_process",
    "run_in_thread",
    "runtime_of",
]

#: Where each public name lives (imported from there on first use).
_HOMES = {
    "Settings": ".settings",
    "create_app": ".http",
    "current_caller": ".http",
    "current_database": ".http",
    "current_job_id": ".http",
    "rerun_safe": ".http",
    "runtime_of": ".http",
    "report_progress": ".work",
    "run_in_process": ".work",
    "run_in_thread": ".work",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
