"""What the job layer tells a handler about the request it is running.

The async layer puts these into the ASGI scope of every request it passes on,
synchronous or replayed by a job, so a handler sees the same caller either
way (spec 1.3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import request

from ..identity import ANONYMOUS, Caller

CALLER_KEY = "eventjobs.caller"
DATABASE_KEY = "eventjobs.database"
JOB_ID_KEY = "eventjobs.job_id"


def current_caller() -> Caller:
    """The caller of the request being handled (anonymous superuser when
    authentication is off)."""
    caller: Caller = _scope().get(CALLER_KEY, ANONYMOUS)
    return caller


def current_database() -> str:
    """The database named by the ``/_db/<name>/`` prefix (``_system`` without)."""
    database: str = _scope().get(DATABASE_KEY, "_system")
    return database


def current_job_id() -> int | None:
    """The id of the job running this request, or None for a synchronous one.

    Fire-and-forget jobs have an id too (the journal needs one), but clients
    never see it.
    """
    job_id: int | None = _scope().get(JOB_ID_KEY)
    return job_id


def _scope() -> Mapping[str, Any]:
    # The ASGI scope's typed keys, plus the ones the async-job layer adds.
    return request.scope
