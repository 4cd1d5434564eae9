"""ArangoDB-style error bodies and the results eventjobs itself stores.

Every error eventjobs answers or stores has the body ArangoDB clients parse::

    {"code":404,"error":true,"errorMessage":"not found","errorNum":404}

compact JSON with sorted keys. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import json
from typing import Any

from .events import RecordedResponse

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# ArangoDB error numbers used here.
ERROR_HTTP_BAD_PARAMETER = 400
ERROR_HTTP_NOT_FOUND = 404
ERROR_HTTP_METHOD_NOT_ALLOWED = 405
ERROR_INTERNAL = 4
ERROR_FORBIDDEN = 11
ERROR_REQUEST_CANCELED = 21
ERROR_SHUTTING_DOWN = 30
ERROR_RESOURCE_LIMIT = 32
ERROR_QUEUE_FULL = 21003
ERROR_HTTP_SERVICE_UNAVAILABLE = 503
ERROR_REQUEST_TOO_LARGE = 413
ERROR_HTTP_HEADERS_TOO_LARGE = 431
#: ArangoDB's "conflict": an Idempotency-Key reused for another request (422).
ERROR_ARANGO_CONFLICT = 1200

#: A timed-out job's status: the HTTP status for "the upstream (here the job)
#: did not answer in time", distinct from a client's cancel (410).
TIMED_OUT_STATUS = 504

INTERRUPTED_MESSAGE = "job interrupted: the server stopped while it ran"


def json_body(value: Any) -> bytes:
    """Compact JSON with sorted keys, as ArangoDB writes it."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")


def error_body(code: int, error_num: int, message: str) -> bytes:
    return json_body(
        {"code": code, "error": True, "errorMessage": message, "errorNum": error_num}
    )


def error_response(code: int, error_num: int, message: str) -> RecordedResponse:
    """A stored result carrying an ArangoDB error body."""
    return RecordedResponse(
        status=code,
        headers=(("content-type", JSON_CONTENT_TYPE),),
        body=error_body(code, error_num, message),
    )


def cancelled_result() -> RecordedResponse:
    """The result of a job that was cancelled (spec section 4)."""
    return error_response(410, ERROR_REQUEST_CANCELED, "canceled request")


def timed_out_result(timeout: float) -> RecordedResponse:
    """The result of a job stopped because it ran longer than *timeout* seconds.

    Status 504 tells it apart from a client's cancel (410); errorNum 21
    (ERROR_REQUEST_CANCELED) says what happened to the request, so client
    code that checks errorNum for "was cancelled" keeps working.
    """
    return error_response(
        TIMED_OUT_STATUS,
        ERROR_REQUEST_CANCELED,
        f"canceled request: the job timed out after {timeout:g} seconds",
    )


def interrupted_result() -> RecordedResponse:
    """The result of a job the server stopped while it ran."""
    return error_response(503, ERROR_SHUTTING_DOWN, INTERRUPTED_MESSAGE)


def handler_failed_result(error: BaseException) -> RecordedResponse:
    """The result of a job whose handler raised *error* (the server lives on)."""
    return error_response(
        500, ERROR_INTERNAL, f"handler raised {type(error).__name__}: {error}"
    )
