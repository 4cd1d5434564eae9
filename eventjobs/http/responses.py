"""Quart responses in the shapes the ArangoDB protocol uses."""

from __future__ import annotations

from typing import Any

from quart import Response
from werkzeug.datastructures import Headers

from ..projection import View
from ..results import (
    ERROR_HTTP_BAD_PARAMETER,
    ERROR_HTTP_METHOD_NOT_ALLOWED,
    ERROR_HTTP_NOT_FOUND,
    JSON_CONTENT_TYPE,
    error_body,
    json_body,
)

ASYNC_ID_HEADER = "x-arango-async-id"

# Headers of a stored result that describe the original transfer, not the
# result: the server recomputes them for the replayed answer.
_TRANSFER_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "date"}
)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(json_body(value), status, content_type=JSON_CONTENT_TYPE)


def error(
    code: int, error_num: int, message: str, headers: Headers | None = None
) -> Response:
    response = Response(
        error_body(code, error_num, message), code, content_type=JSON_CONTENT_TYPE
    )
    if headers:
        response.headers.extend(headers)
    return response


def bad_parameter(reason: str | None = None) -> Response:
    """ArangoDB's 400 (errorNum 400, what clients look at), its message
    followed by *reason*: which parameter and why (``bad parameter: count
    must be a whole number, not 'many'``)."""
    message = "bad parameter" if reason is None else f"bad parameter: {reason}"
    return error(400, ERROR_HTTP_BAD_PARAMETER, message)


def shown(value: str, limit: int = 40) -> str:
    """*value* quoted for an error message, cut short when long (it comes
    from the client, who may send anything)."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def not_found(message: str = "not found") -> Response:
    return error(404, ERROR_HTTP_NOT_FOUND, message)


def method_not_supported() -> Response:
    return error(405, ERROR_HTTP_METHOD_NOT_ALLOWED, "method not supported")


def empty(status: int) -> Response:
    return Response(b"", status, content_type="text/plain; charset=utf-8")


def result_true() -> Response:
    return json_response({"result": True})


def stored_result(job: View) -> Response:
    """A finished job's result exactly as its handler produced it, plus
    ``x-arango-async-id``. A HEAD request's result has no body (spec 3)."""
    stored = job.response
    assert stored is not None, f"job {job.job_id} has no stored result"
    body = b"" if job.method == "HEAD" else stored.body
    response = Response(body, stored.status)
    response.headers.clear()
    for name, value in stored.headers:
        if name.lower() not in _TRANSFER_HEADERS and name.lower() != ASYNC_ID_HEADER:
            response.headers.add(name, value)
    response.headers["content-length"] = str(len(body))
    response.headers[ASYNC_ID_HEADER] = str(job.job_id)
    return response
