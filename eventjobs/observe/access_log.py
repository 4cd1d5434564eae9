"""One access log line per request (``eventjobs serve --access-log``).

hypercorn 0.18 writes a request's access line when it has sent the end of
the response, and also when the connection closes before it has got that
far, then without the response (status ``- -``). A client that closes the
moment it has read the whole body (curl, most one-shot clients) often wins
that race: the app has sent the body but not yet its (empty) last part. So
hypercorn wrote a ``- -`` line and, once the app finished, the real one.

:func:`mark_response_start` keeps the response's start (status and
headers) in the request's scope, the same dict hypercorn logs from; then
:class:`OneLinePerRequest` writes the first line of each request only, with
that status when hypercorn has none to give. A request whose client left
before any response started still gets its ``- -`` line: that is what
happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hypercorn.logging import Logger

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

#: Scope keys of ours (ASGI lets a server and an app add keys to the scope).
RESPONSE_START = "eventjobs.response_start"
ACCESS_LOGGED = "eventjobs.access_logged"


def mark_response_start(app: Any) -> ASGIApp:
    """*app*, keeping each HTTP response's ``http.response.start`` message
    in its request's scope. Cancellation: as *app*'s."""

    async def marking(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_marking(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                scope[RESPONSE_START] = message
            await send(message)

        await app(scope, receive, send_marking)

    return marking


class OneLinePerRequest(Logger):
    """hypercorn's logger, writing one access line per request; see the
    module docstring."""

    async def access(self, request: Any, response: Any, request_time: float) -> None:
        if request.get(ACCESS_LOGGED):
            return
        request[ACCESS_LOGGED] = True
        if response is None:
            response = request.get(RESPONSE_START)
        await super().access(request, response, request_time)
