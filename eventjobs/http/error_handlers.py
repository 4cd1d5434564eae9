"""Every error the app answers gets ArangoDB's JSON error body, never HTML
and never a traceback."""

from __future__ import annotations

import logging

from quart import Quart, Response, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from ..errors import JournalUnavailable, NotRunning
from ..headers import BUSY_RETRY_AFTER, RETRY_AFTER_HEADER
from ..results import (
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ERROR_INTERNAL,
    ERROR_REQUEST_TOO_LARGE,
)
from .responses import error, method_not_supported

log = logging.getLogger("eventjobs.http")

#: Every 503 says when to come back (the journal may take writes again by
#: then; a server still starting may be serving).
_RETRY_AFTER = Headers([(RETRY_AFTER_HEADER, str(BUSY_RETRY_AFTER))])


def register(app: Quart) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(JournalUnavailable, _journal_unavailable)
    app.register_error_handler(NotRunning, _not_running)
    app.register_error_handler(Exception, _unexpected_error)


async def _http_error(exception: HTTPException) -> Response | HTTPException:
    if isinstance(exception, RoutingException):
        return exception  # a redirect the router decided on: let it through
    code = exception.code or 500
    if code == 404:
        return error(404, 404, f"unknown path '{request.path}'")
    if code == 405:
        return method_not_supported()
    if code == 413:
        return error(413, ERROR_REQUEST_TOO_LARGE, "request body too large")
    return error(code, code, exception.description or exception.name)


async def _journal_unavailable(exception: JournalUnavailable) -> Response:
    current_app.extensions["eventjobs"].metrics.refused("journal_unavailable")
    return error(
        503,
        ERROR_HTTP_SERVICE_UNAVAILABLE,
        # Neutral on purpose: writing an event and reading a result back
        # (a fetch) both end here; the exception says which failed.
        f"the journal is unavailable, so nothing was changed: {exception}",
        _RETRY_AFTER,
    )


async def _not_running(exception: NotRunning) -> Response:
    current_app.extensions["eventjobs"].metrics.refused("not_running")
    return error(503, ERROR_HTTP_SERVICE_UNAVAILABLE, str(exception), _RETRY_AFTER)


async def _unexpected_error(exception: Exception) -> Response:
    # A handler failed: log the traceback here, answer only its summary. For
    # a job this answer becomes its stored 500 result and the server goes on.
    log.error("%s %s raised", request.method, request.path, exc_info=exception)
    return error(
        500, ERROR_INTERNAL, f"handler raised {type(exception).__name__}: {exception}"
    )
