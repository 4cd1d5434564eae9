"""Recurring schedules over HTTP: ``/_eventjobs/schedules``.

- ``POST /_eventjobs/schedules`` with ``{"cron": "*/5 * * * *"}`` or
  ``{"every": SECONDS}``, ``"request": {"method", "path", "query",
  "headers", "body"}`` and optionally ``"timezone"`` and ``"catch_up"``
  (:func:`eventjobs.recurrence.parse_schedule`): ``201`` with the schedule.
- ``GET /_eventjobs/schedules``: ``{"schedules": [...]}``, the caller's
  (a superuser's: everyone's), by id.
- ``GET /_eventjobs/schedules/{id}``: the schedule; ``DELETE``:
  ``{"result": true}`` once it is removed (its jobs stay).

Ownership is the job API's: another user's schedule is 404. A bad document
is ``400`` with ArangoDB's error body naming the field. Never queued as a
job (:func:`eventjobs.http.paths.is_job_api`).
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, current_app, request

from ..errors import ShuttingDown
from ..events import RecordedRequest
from ..projection import ScheduleView
from ..recurrence import BadSchedule, parse_schedule
from ..results import ERROR_SHUTTING_DOWN
from ..runtime import Runtime
from .context import current_caller
from .paths import is_job_api, is_open, is_operations, split_database
from .responses import bad_parameter, error, json_response, not_found, result_true

blueprint = Blueprint("schedules_api", __name__)

#: Headers never recorded with a schedule's request: a firing runs as the
#: schedule's owner, not with the credentials of whoever added it.
_DROPPED_HEADERS = frozenset({"authorization", "cookie", "x-arango-async"})


def schedule_row(schedule: ScheduleView, next_firing: float | None) -> dict[str, Any]:
    """A schedule as the API shows it."""
    req = schedule.request
    return {
        "id": str(schedule.schedule_id),
        "owner": schedule.owner,
        "created": schedule.created,
        "cron": schedule.cron,
        "every": schedule.every,
        "timezone": schedule.timezone,
        "catch_up": schedule.catch_up,
        "request": {
            "method": req.method,
            "path": req.path,
            "query": req.query_string,
            "headers": dict(req.headers),
            "body": req.body.decode("utf-8", "replace"),
        },
        "last_fired": schedule.last_fired,
        "next_firing": next_firing,
    }


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["eventjobs"]
    return runtime


def _row(runtime: Runtime, schedule: ScheduleView) -> dict[str, Any]:
    return schedule_row(schedule, runtime.schedules.next_firing(schedule))


@blueprint.route("/_eventjobs/schedules", methods=["POST"])
async def add_schedule() -> Response:
    raw = await request.get_data()
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as problem:
        return bad_parameter(f"the body is not JSON ({problem})")
    try:
        recurrence, parts = parse_schedule(document)
    except BadSchedule as problem:
        return bad_parameter(str(problem))
    _database, path = split_database(parts.path)
    if is_job_api(path) or is_open(path) or is_operations(path):
        return bad_parameter(
            f"request.path {parts.path[:60]!r} is an endpoint of eventjobs itself, "
            "which is never run as a job: give a path of your application"
        )
    recorded = RecordedRequest(
        method=parts.method,
        path=parts.path,
        query_string=parts.query,
        headers=tuple(
            (name, value)
            for name, value in parts.headers
            if name not in _DROPPED_HEADERS
        ),
        body=parts.body,
    )
    runtime = _runtime()
    caller = current_caller()
    try:
        schedule_id = await runtime.schedules.add(recurrence, recorded, caller)
    except ShuttingDown:
        return error(503, ERROR_SHUTTING_DOWN, "shutdown in progress")
    await runtime.jobs.sync(None)
    schedule = runtime.schedules.find(schedule_id, caller)
    assert schedule is not None, f"schedule {schedule_id} recorded but not in the table"
    return json_response(_row(runtime, schedule), 201)


@blueprint.route("/_eventjobs/schedules", methods=["GET"])
async def list_schedules() -> Response:
    runtime = _runtime()
    await runtime.jobs.sync(None)
    return json_response(
        {
            "schedules": [
                _row(runtime, schedule)
                for schedule in runtime.schedules.listed(current_caller())
            ]
        }
    )


@blueprint.route("/_eventjobs/schedules/<schedule_id>", methods=["GET"])
async def get_schedule(schedule_id: str) -> Response:
    runtime = _runtime()
    number = _schedule_id(schedule_id)
    await runtime.jobs.sync(number)
    schedule = (
        None if number is None else runtime.schedules.find(number, current_caller())
    )
    if schedule is None:
        return not_found(f"schedule {schedule_id[:40]!r} not found")
    return json_response(_row(runtime, schedule))


@blueprint.route("/_eventjobs/schedules/<schedule_id>", methods=["DELETE"])
async def remove_schedule(schedule_id: str) -> Response:
    runtime = _runtime()
    number = _schedule_id(schedule_id)
    if number is None or not await runtime.schedules.remove(number, current_caller()):
        return not_found(f"schedule {schedule_id[:40]!r} not found")
    return result_true()


def _schedule_id(text: str) -> int | None:
    """The id *text* names, or None (no schedule has it: 404)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    return int(text)
