"""Run one recorded request through an ASGI app, in-process, and keep what
it answers: how a job actor executes its job.

The request is replayed exactly (method, path, query, headers, body), with
no network in between. The app must send a complete response; if it raises,
or returns without answering, the job's result is an ArangoDB 500 error.

Cancellation: a cancel of the calling task cancels the app's handler at its
next checkpoint, and ``trio.Cancelled`` propagates to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

import trio

from ..events import RecordedRequest, RecordedResponse
from ..results import (
    ERROR_INTERNAL,
    ERROR_RESOURCE_LIMIT,
    error_response,
    handler_failed_result,
)

log = logging.getLogger("eventjobs.jobs")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# Characters left as they are when a decoded path is turned back into a raw
# one (RFC 3986 pchar plus "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def scope_for(request: RecordedRequest) -> Scope:
    """A fresh ASGI HTTP scope that replays *request*."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": quote(request.path, safe=_PATH_SAFE).encode("ascii"),
        "query_string": request.query_string.encode("latin-1"),
        "root_path": "",
        "headers": [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers
        ],
        # Port unknown: the connection is gone; the address is what handlers use.
        "client": (request.client, 0) if request.client is not None else None,
        "server": None,
        "extensions": {},
    }


async def call_app(
    app: ASGIApp, scope: Scope, body: bytes, *, max_result_bytes: int | None = None
) -> RecordedResponse:
    """Call *app* with *scope* and *body*; return its complete response.

    A response body over *max_result_bytes* is not kept: the result is then
    a 500 with errorNum 32 (resource limit) saying how large it was.
    """
    status: int | None = None
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []
    size = 0
    complete = False
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # The "client" never disconnects: only a cancel ends the request.
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status, complete, size
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.extend(
                (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if max_result_bytes is None or size <= max_result_bytes:
                if chunk:  # a body sent whole is then kept, not copied by the join
                    chunks.append(chunk)
            else:
                chunks.clear()  # over the limit: keep counting, store nothing
            complete = not message.get("more_body", False)

    try:
        await app(scope, receive, send)
    except Exception as error:
        log.error(
            "job %s: the application raised",
            scope.get("eventjobs.job_id"),
            exc_info=error,
        )
        return handler_failed_result(error)
    if status is None or not complete:
        return error_response(
            500, ERROR_INTERNAL, "the application returned without a complete response"
        )
    if max_result_bytes is not None and size > max_result_bytes:
        return error_response(
            500,
            ERROR_RESOURCE_LIMIT,
            f"result too large: the response body was {size} bytes, more than the "
            f"{max_result_bytes} bytes a job may store (--max-result-bytes)",
        )
    return RecordedResponse(
        status=status, headers=tuple(headers), body=b"".join(chunks)
    )
