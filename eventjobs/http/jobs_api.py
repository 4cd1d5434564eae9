"""``GET /_eventjobs/jobs``: the caller's jobs with their details, for the dashboard.

The job API lists ids only (``/_api/job/pending``); a dashboard needs a row
per job. This answers, from the runtime's table::

    {"now": <server time>, "caller": {"name", "superuser"},
     "counts": {"queued", "running", "cancelling", "done", "failed"},
     "state": "pending", "matched": <rows matching the filters>,
     "jobs": [{"id", "owner", "method", "path", "state", "created",
               "started", "finished", "status", "progress"}, ...]}

Query parameters: ``state`` (``pending``, the default, or ``done``),
``owner`` (exact name; ``-`` for jobs without an owner), ``path``
(substring), ``limit`` (at most this many rows, newest first; default 500).

Ownership is the job API's: only jobs visible to the caller
(:meth:`JobTable.visible_to`), so a user sees their own and a superuser
everyone's. ``counts`` cover all of the caller's jobs, whatever the filters.
Never queued as a job (:func:`eventjobs.http.paths.is_job_api`).
"""

from __future__ import annotations

import collections
import sys
from typing import Any

from quart import Blueprint, Response, current_app, request

from ..projection import JobView, Phase
from ..runtime import Runtime
from .context import current_caller
from .responses import bad_parameter, json_response

blueprint = Blueprint("jobs_api", __name__)

DEFAULT_LIMIT = 500
#: ``owner=-`` selects jobs recorded without an owner (authentication off).
NO_OWNER = "-"
#: Longer filters match nothing a job could hold; refusing them bounds the work.
MAX_FILTER_CHARS = 1024


def job_row(job: JobView) -> dict[str, Any]:
    """The dashboard's row for *job*: the one place that reads a view's fields."""
    return {
        "id": str(job.job_id),
        "owner": job.owner,
        "method": job.method,
        "path": job.path,
        "state": job_state(job),
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "status": job.status,
        "progress": (
            None
            if job.progress is None
            else {"fraction": job.progress[0], "message": job.progress[1]}
        ),
    }


def job_state(job: JobView) -> str:
    """``queued``, ``running``, ``cancelling`` (asked to stop, still running) or ``done``."""
    if job.phase is Phase.QUEUED:
        return "queued"
    if job.phase is Phase.RUNNING:
        return "cancelling" if job.cancelling else "running"
    return "done"


@blueprint.route("/_eventjobs/jobs", methods=["GET"])
async def list_jobs() -> Response:
    state = request.args.get("state", "pending")
    owner = request.args.get("owner", "")
    path = request.args.get("path", "")
    limit_text = request.args.get("limit", str(DEFAULT_LIMIT))
    if (
        state not in ("pending", "done")
        or len(owner) > MAX_FILTER_CHARS
        or len(path) > MAX_FILTER_CHARS
        or not (limit_text.isascii() and limit_text.isdigit())
    ):
        return bad_parameter()
    limit = int(limit_text) if len(limit_text) <= 18 else sys.maxsize
    runtime: Runtime = current_app.extensions["eventjobs"]
    caller = current_caller()
    counts = dict.fromkeys(("queued", "running", "cancelling", "done", "failed"), 0)
    # Newest first: keep the last *limit* matches of the ascending walk.
    rows: collections.deque[JobView] = collections.deque(maxlen=limit)
    matched = 0
    want_pending = state == "pending"
    for job in runtime.table.visible_to(caller):
        kind = job_state(job)
        if kind == "done" and job.status is not None and job.status >= 400:
            counts["failed"] += 1
        else:
            counts[kind] += 1
        if job.pending != want_pending:
            continue
        if owner and job.owner != (None if owner == NO_OWNER else owner):
            continue
        if path and path not in job.path:
            continue
        matched += 1
        if limit:
            rows.append(job)
    return json_response(
        {
            "now": runtime.clock(),
            "caller": {"name": caller.name, "superuser": caller.superuser},
            "counts": counts,
            "state": state,
            "matched": matched,
            "jobs": [job_row(job) for job in reversed(rows)],
        }
    )
