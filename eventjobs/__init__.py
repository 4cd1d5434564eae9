"""eventjobs: an event-sourced async job server speaking ArangoDB's job API.

Public surface::

    from eventjobs import create_app, Settings
    app = create_app(Settings(journal="./journal"))

    @app.route("/report", methods=["POST"])
    async def report(): ...   # now also runs as a job with x-arango-async
"""

from __future__ import annotations

__version__ = "0.1.0"

from .http import create_app, current_caller, current_database, current_job_id, runtime_of  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = [
    "Settings",
    "__version__",
    "create_app",
    "current_caller",
    "current_database",
    "current_job_id",
    "runtime_of",
]
