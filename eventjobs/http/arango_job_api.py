"""The job API: ``/_api/job`` and its alias ``/_admin/job`` (spec section 3).

One route per root takes every path below it; the parts are then matched
here, so that the exact answers of the spec (400 for a wrong number of
parts, 405 for other methods) do not depend on the router's slash rules.
Requests to the job API are always answered synchronously (spec 1.4).
"""

from __future__ import annotations

import math
import sys

from quart import Blueprint, Response, after_this_request, current_app, request
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as WerkzeugResponse

from ..headers import (
    ATTEMPT_HEADER,
    PREFER_HEADER,
    PREFERENCE_APPLIED_HEADER,
    PROGRESS_HEADER,
    STATE_HEADER,
    WAIT_HEADER,
    BadHeader,
    parse_seconds,
    prefer_wait,
    progress_value,
)
from ..projection import JobView
from ..runtime import Runtime
from ..runtime.jobs import Jobs
from .context import current_caller
from .paths import job_api_parts, parse_job_id
from .responses import (
    bad_parameter,
    empty,
    json_response,
    method_not_supported,
    not_found,
    result_true,
    shown,
    stored_result,
)

AnyResponse = Response | WerkzeugResponse

#: What may follow /_api/job/, by method, for the 400s that name it.
_EXPECTED = {
    "GET": "a job id, 'done' or 'pending'",
    "PUT": "a job id, or a job id and 'cancel'",
    "DELETE": "a job id, 'all' or 'expired'",
}


def _wrong_parts(method: str, parts: list[str]) -> Response:
    got = f"got {shown('/'.join(parts))}" if parts else "got nothing"
    return bad_parameter(f"{method} /_api/job/ takes {_EXPECTED[method]}; {got}")


DEFAULT_LIST_COUNT = 100

blueprint = Blueprint("arango_job_api", __name__)


class JobPathConverter(BaseConverter):
    """Matches nothing or ``/`` followed by anything: the job API's tail."""

    regex = r"(?:/.*)?"
    part_isolating = False


def jobs() -> Jobs:
    runtime: Runtime = current_app.extensions["eventjobs"]
    return runtime.jobs


# HEAD is routed with GET by the router; the job API rejects it below.
_ROUTE_OPTIONS = {
    "methods": ["GET", "PUT", "DELETE"],
    "provide_automatic_options": False,
}


@blueprint.route("/_api/job<jobpath:tail>", **_ROUTE_OPTIONS)
@blueprint.route("/_admin/job<jobpath:tail>", **_ROUTE_OPTIONS)
async def job_api(tail: str) -> Response:
    parts = job_api_parts(tail)
    if request.method == "GET":
        return await _get(parts)
    if request.method == "PUT":
        return await _put(parts)
    if request.method == "DELETE":
        return await _delete(parts)
    return method_not_supported()


async def _get(parts: list[str]) -> Response:
    if len(parts) != 1:
        return _wrong_parts("GET", parts)
    (part,) = parts
    if part in ("done", "pending"):
        count = _count()
        if count is None:
            raw = request.args.get("count", "")
            return bad_parameter(f"count must be a whole number, not {shown(raw)}")
        await jobs().sync()
        ids = jobs().job_ids(current_caller(), pending=part == "pending", count=count)
        return json_response([str(job_id) for job_id in ids])
    if part[:1] not in tuple("123456789"):
        return bad_parameter(
            f"GET /_api/job/ takes {_EXPECTED['GET']} (an id starts with 1-9); "
            f"got {shown(part)}"
        )
    await jobs().sync(parse_job_id(part))
    if (wrong := await _wait_if_asked(parse_job_id(part))) is not None:
        return wrong
    job = jobs().status(parse_job_id(part), current_caller())
    if job is None:
        return not_found()
    return _pending(job) if job.pending else empty(200)


async def _put(parts: list[str]) -> Response:
    if len(parts) == 1:
        await jobs().sync(parse_job_id(parts[0]))
        if (wrong := await _wait_if_asked(parse_job_id(parts[0]))) is not None:
            return wrong
        job = await jobs().fetch(parse_job_id(parts[0]), current_caller())
        if job is None:
            return not_found()
        if job.pending:
            return _pending(job)
        return stored_result(job)
    if len(parts) == 2:
        if parts[1] != "cancel":
            return bad_parameter(
                f"PUT /_api/job/{{id}}/ takes only 'cancel', not {shown(parts[1])}"
            )
        job_id = parse_job_id(parts[0])
        await jobs().sync(job_id)
        if not await jobs().cancel(job_id, current_caller()):
            return not_found(
                f"could not find job ({job_id}) in AsyncJobManager during cancel operation"
            )
        return result_true()
    return _wrong_parts("PUT", parts)


async def _delete(parts: list[str]) -> Response:
    if len(parts) != 1:
        return _wrong_parts("DELETE", parts)
    (part,) = parts
    caller = current_caller()
    await jobs().sync(parse_job_id(part) if part not in ("all", "expired") else None)
    if part == "all":
        await jobs().delete_all(caller)
        return result_true()
    if part == "expired":
        stamp = _stamp()
        if stamp is None:
            raw = request.args.get("stamp")
            got = "it is missing" if raw is None else f"not {shown(raw)}"
            return bad_parameter(
                f"DELETE /_api/job/expired needs ?stamp=T, unix seconds; {got}"
            )
        await jobs().delete_expired(caller, stamp)
        return result_true()
    if not await jobs().delete(parse_job_id(part), caller):
        return not_found()
    return result_true()


async def _wait_if_asked(job_id: int) -> Response | None:
    """With ``x-eventjobs-wait: SECONDS``, wait (at most ``max_wait``) until
    the job is no longer pending; the 400 to answer when the value is malformed.

    Without the header this returns at once, so the answer is the spec's.
    A client that disconnects cancels only this wait.
    """
    raw = request.headers.get(WAIT_HEADER)
    if raw is None:
        await _wait_if_preferred(job_id)
        return None
    try:
        seconds = parse_seconds(raw, allow_zero=True)
    except BadHeader:
        return bad_parameter(
            f"{WAIT_HEADER} must be a plain decimal number of seconds, 0 or more, "
            f"not {shown(raw)}"
        )
    seconds = min(seconds, jobs().settings.max_wait)
    if seconds > 0:
        await jobs().wait_finished(job_id, current_caller(), seconds)
    return None


async def _wait_if_preferred(job_id: int) -> None:
    """With ``Prefer: wait=N`` (RFC 7240), wait as ``x-eventjobs-wait: N``
    would (the two together: ``x-eventjobs-wait`` counts), and say so in
    the answer's ``Preference-Applied: wait=N`` (N capped by ``max_wait``,
    as the wait is). A malformed preference is ignored, as the RFC asks."""
    preferred = prefer_wait(request.headers.getlist(PREFER_HEADER))
    if preferred is None:
        return
    seconds = min(float(preferred), jobs().settings.max_wait)

    @after_this_request
    def applied(response: AnyResponse) -> AnyResponse:
        response.headers[PREFERENCE_APPLIED_HEADER] = f"wait={seconds:g}"
        response.vary.add(PREFER_HEADER)
        return response

    if seconds > 0:
        await jobs().wait_finished(job_id, current_caller(), seconds)


def _pending(job: JobView) -> Response:
    """The 204 for a pending job, with its progress and stopping state
    (headers a client that knows nothing of them simply ignores)."""
    response = empty(204)
    if job.progress is not None:
        response.headers[PROGRESS_HEADER] = progress_value(*job.progress)
    if job.cancelling:
        response.headers[STATE_HEADER] = "cancelling"
    if job.attempt > 1:  # past its first attempt: running, or waiting for one
        response.headers[ATTEMPT_HEADER] = str(job.attempt)
    return response


def _count() -> int | None:
    """``?count=N``: a whole number, 100 when absent; None when malformed.

    There is no upper bound (spec 3): a count with more digits than any
    list can have reads as "all".
    """
    raw = request.args.get("count")
    if raw is None:
        return DEFAULT_LIST_COUNT
    if not raw.isascii() or not raw.isdigit():
        return None
    return int(raw) if len(raw) <= 18 else sys.maxsize


def _stamp() -> float | None:
    """``?stamp=T``: unix seconds, fractions allowed; None when absent or bad."""
    raw = request.args.get("stamp")
    if raw is None:
        return None
    try:
        stamp = float(raw)
    except ValueError:
        return None
    return stamp if math.isfinite(stamp) else None
