"""``GET /_eventjobs/jobs``: the caller's jobs with their details, for the dashboard.

The job API lists ids only (``/_api/job/pending``); a dashboard needs a row
per job. This answers, from the runtime's table, in one walk over it::

    {"now": <server time>, "caller": {"name", "superuser"},
     "counts": {"queued", "running", "cancelling", "done", "failed"},
     "pending": {"matched": <rows matching the filters>, "jobs": [...]},
     "done": {"matched": ..., "jobs": [...]}}

with rows ``{"id", "owner", "method", "path", "state", "created",
"started", "finished", "status", "progress"}``, newest first.

Query parameters: ``state`` (``pending``, ``done`` or ``all``, the
default: which lists to include), ``owner`` (exact name; ``-`` for jobs
without an owner), ``path`` (substring), ``limit`` (at most this many rows
per list; default 500).

Ownership is the job API's: only jobs visible to the caller
(:meth:`JobTable.visible_to`), so a user sees their own and a superuser
everyone's. ``counts`` cover all of the caller's jobs, whatever the filters.
The walk runs on the event loop and costs about 0.25 ms per thousand jobs
the caller can see (measured: 25 ms with 100,000 stored results); the
dashboard spaces its reloads by several times what the last one took.
Never queued as a job (:func:`eventjobs.http.paths.is_job_api`).
"""

from __future__ import annotations

import collections
import sys
from typing import Any

from quart import Blueprint, Response, current_app, request

from ..projection import Phase, View
from ..runtime import Runtime
from .context import current_caller
from .responses import bad_parameter, json_response, shown

blueprint = Blueprint("dashboard_jobs", __name__)

DEFAULT_LIMIT = 500
#: ``owner=-`` selects jobs recorded without an owner (authentication off).
NO_OWNER = "-"
#: Longer filters match nothing a job could hold; refusing them bounds the work.
MAX_FILTER_CHARS = 1024


def job_row(job: View) -> dict[str, Any]:
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


def job_state(job: View) -> str:
    """``queued``, ``running``, ``cancelling`` (asked to stop, still running) or ``done``."""
    if job.phase is Phase.QUEUED:
        return "queued"
    if job.phase is Phase.RUNNING:
        return "cancelling" if job.cancelling else "running"
    return "done"


@blueprint.route("/_eventjobs/jobs", methods=["GET"])
async def list_jobs() -> Response:
    state = request.args.get("state", "all")
    owner = request.args.get("owner", "")
    path = request.args.get("path", "")
    limit_text = request.args.get("limit", str(DEFAULT_LIMIT))
    if state not in ("pending", "done", "all"):
        return bad_parameter(f"state must be pending, done or all, not {shown(state)}")
    if len(owner) > MAX_FILTER_CHARS or len(path) > MAX_FILTER_CHARS:
        return bad_parameter(
            f"owner and path filters are {MAX_FILTER_CHARS} characters at most"
        )
    if not (limit_text.isascii() and limit_text.isdigit()):
        return bad_parameter(f"limit must be a whole number, not {shown(limit_text)}")
    limit = int(limit_text) if len(limit_text) <= 18 else sys.maxsize
    wanted_owner = None if owner == NO_OWNER else owner
    runtime: Runtime = current_app.extensions["eventjobs"]
    caller = current_caller()
    # One walk, with local counters: this loop is the endpoint's whole cost.
    queued = running = cancelling = done = failed = 0
    # Newest first: keep the last *limit* matches of the ascending walk.
    pending_rows = collections.deque[View](maxlen=limit)
    done_rows = collections.deque[View](maxlen=limit)
    pending_matched = done_matched = 0
    filtered = bool(owner or path)
    for job in runtime.jobs.visible_jobs(caller):
        phase = job.phase
        if phase is Phase.FINISHED:
            if job.status is not None and job.status >= 400:
                failed += 1
            else:
                done += 1
        elif phase is Phase.QUEUED:
            queued += 1
        elif job.cancelling:
            cancelling += 1
        else:
            running += 1
        if filtered and (
            (owner and job.owner != wanted_owner) or (path and path not in job.path)
        ):
            continue
        if phase is Phase.FINISHED:
            done_matched += 1
            done_rows.append(job)
        else:
            pending_matched += 1
            pending_rows.append(job)
    counts = {
        "queued": queued,
        "running": running,
        "cancelling": cancelling,
        "done": done,
        "failed": failed,
    }
    rows = {"pending": pending_rows, "done": done_rows}
    matched = {"pending": pending_matched, "done": done_matched}
    answer: dict[str, Any] = {
        "now": runtime.clock(),
        "caller": {"name": caller.name, "superuser": caller.superuser},
        "counts": counts,
    }
    for which in ("pending", "done"):
        if state in (which, "all"):
            answer[which] = {
                "matched": matched[which],
                "jobs": [job_row(job) for job in reversed(rows[which])],
            }
    return json_response(answer)
