"""Built-in endpoints (spec section 6): useful as job payloads and for
clients' connection checks."""

from __future__ import annotations

import base64
import math

import trio
from quart import Blueprint, Response, current_app, request

from .._version import __version__
from ..runtime import Runtime
from .context import current_caller, current_database
from .responses import bad_parameter, json_response, shown

blueprint = Blueprint("builtins", __name__)

LICENSE = "Apache-2.0"


def _runtime() -> Runtime:
    value: Runtime = current_app.extensions["eventjobs"]
    return value


@blueprint.route("/_api/version", methods=["GET"])
async def version() -> Response:
    return json_response(
        {"server": "eventjobs", "version": __version__, "license": LICENSE}
    )


@blueprint.route("/_admin/time", methods=["GET"])
async def server_time() -> Response:
    return json_response({"error": False, "code": 200, "time": _runtime().clock()})


@blueprint.route("/_api/collection", methods=["GET"])
async def collections() -> Response:
    return json_response({"error": False, "code": 200, "result": []})


@blueprint.route(
    "/_admin/echo",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    provide_automatic_options=False,
)
async def echo() -> Response:
    """Describe the request: what a job sees is what a synchronous call sees."""
    body = await request.get_data(cache=True, as_text=False, parse_form_data=False)
    try:
        body_text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body_text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return json_response(
        {
            "method": request.method,
            "path": request.path,
            "database": current_database(),
            "query": {key: request.args.getlist(key) for key in request.args},
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "body": body_text,
            "bodyEncoding": encoding,
            "user": current_caller().name,
        }
    )


@blueprint.route("/_admin/sleep", methods=["GET", "POST"])
async def sleep() -> Response:
    """Sleep ``duration`` seconds. Cancellation: stops at once, mid-sleep."""
    raw = request.args.get("duration")
    try:
        duration = float(raw) if raw is not None else math.nan
    except ValueError:
        duration = math.nan
    if not 0 <= duration <= _runtime().settings.max_sleep:  # also rejects NaN
        got = "it is missing" if raw is None else f"not {shown(raw)}"
        return bad_parameter(
            "duration must be a number of seconds from 0 to "
            f"{_runtime().settings.max_sleep:g} (--max-sleep); {got}"
        )
    await trio.sleep(duration)
    return json_response({"error": False, "code": 200, "duration": duration})
