"""Paths sent to HTTP services in any language (``--upstream URL`` or
``--upstream /PREFIX=URL``): an ASGI app the job layer mounts.

A request goes to the upstream with the longest prefix that matches its
path (segment-wise: ``/reports`` matches ``/reports`` and ``/reports/7``,
not ``/reportsx``); a path no prefix matches goes to the ``--app`` behind,
or gets 404. The method, path (below any ``/_db/<name>/``), query and body
are kept exactly; the path is appended to the URL's own path.

Never forwarded, because they belong to eventjobs: ``Authorization``
(unless ``--upstream-pass-auth``; a job never has it, since it is never
journalled), the ``x-arango-*`` and ``x-eventjobs-*`` headers, and the
hop-by-hop headers. Added: ``x-eventjobs-job-id`` (a job's id),
``Forwarded`` and ``x-forwarded-for`` / ``-host`` / ``-proto``.

The answer (status, headers without hop-by-hop ones, body as sent, not
decoded) is the job's result or the synchronous response. An upstream
unreachable, refusing or resetting the connection gives a 502 with an
ArangoDB error body naming it; one that sends nothing for
``--upstream-timeout`` seconds gives 504.

Cancellation (a client's cancel, the job's timeout, a synchronous client
that went away): the upstream request is closed at once (its connection is
dropped, so the upstream sees its client go away) and ``trio.Cancelled``
propagates: the job stores 410 (or 504).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from ..results import ERROR_HTTP_NOT_FOUND, error_body
from ..settings import Settings, parse_upstream
from .asgi_call import ASGIApp, Scope
from .context import JOB_ID_KEY
from .whole_body import (
    ClientGone,
    error_headers,
    read_body,
    send_error,
    send_too_large,
)

log = logging.getLogger("eventjobs.upstream")

#: ArangoDB's errorNum for a failed HTTP call to another server
#: (ERROR_CLUSTER_CONNECTION_LOST) and for a timeout (ERROR_CLUSTER_TIMEOUT).
ERROR_CONNECTION_LOST = 1497
ERROR_TIMEOUT = 1457

#: RFC 9110 section 7.6.1: meant for one connection, never passed on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)

#: Connections kept per upstream.
MAX_CONNECTIONS = 100


class Upstreams:
    """See the module docstring.

    Args:
        settings: the ``upstream`` entries, timeout, pass-auth and body limit.
        fallback: the app for paths no prefix matches (``--app``), or None.
    """

    def __init__(self, settings: Settings, fallback: ASGIApp | None = None) -> None:
        routes = [parse_upstream(entry) for entry in settings.upstream]
        # Longest prefix first: the first that matches wins.
        self._routes = sorted(routes, key=lambda route: -len(route[0]))
        self._fallback = fallback
        self._pass_auth = settings.upstream_pass_auth
        self._max_body = settings.max_body_bytes
        timeout = settings.upstream_timeout or None
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS * len(routes)),
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def match(self, path: str) -> str | None:
        """The URL *path* goes to, or None when no prefix matches."""
        for prefix, url in self._routes:
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                return url
        return None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        base = self.match(scope["path"])
        if base is None:
            if self._fallback is not None:
                await self._fallback(scope, receive, send)
            else:
                await send_error(send, 404, ERROR_HTTP_NOT_FOUND, "unknown path")
            return
        try:
            body = await read_body(receive, self._max_body)
        except ClientGone:
            return  # nobody is left to answer, and nothing was sent
        if body is None:
            await send_too_large(send, self._max_body)
            return
        status, headers, content = await self._forward(scope, base, body)
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": content})

    async def _forward(
        self, scope: Scope, base: str, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        url = base + bytes(raw_path).decode("latin-1")
        query = bytes(scope.get("query_string", b""))
        if query:
            url += "?" + query.decode("latin-1")
        request = self._client.build_request(
            scope["method"], url, headers=self._headers(scope), content=body
        )
        try:
            response = await self._client.send(request, stream=True)
            try:
                # Joined once: the body goes to the journal as it came.
                chunks = [chunk async for chunk in response.aiter_raw()]
            finally:
                await response.aclose()
        except httpx.ConnectTimeout as error:
            return _failure(502, ERROR_CONNECTION_LOST, base, "unreachable", error)
        except httpx.TimeoutException as error:
            return _failure(504, ERROR_TIMEOUT, base, "sent no answer in time", error)
        except httpx.HTTPError as error:  # refused, reset, unreachable, garbled
            return _failure(502, ERROR_CONNECTION_LOST, base, "failed", error)
        headers = _without_hop_by_hop(response.headers.raw)
        return response.status_code, headers, b"".join(chunks)

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """What the upstream gets of the request's headers; see module docs."""
        pairs = [
            (bytes(name).lower(), bytes(value)) for name, value in scope["headers"]
        ]
        dropped = _connection_tokens(pairs) | {b"host", b"content-length"}
        if not self._pass_auth:
            dropped.add(b"authorization")
        headers = [
            (name, value)
            for name, value in pairs
            if name not in dropped
            and name.decode("latin-1") not in HOP_BY_HOP
            and not name.startswith((b"x-arango-", b"x-eventjobs-"))
            and not name.startswith(b"x-forwarded-")
            and name != b"forwarded"
        ]
        job_id = scope.get(JOB_ID_KEY)
        if job_id is not None:
            headers.append((b"x-eventjobs-job-id", str(job_id).encode("ascii")))
        host = next((value for name, value in pairs if name == b"host"), None)
        client = scope.get("client")
        proto = str(scope.get("scheme", "http")).encode("ascii")
        forwarded = [b"proto=" + proto]
        if client:
            address = str(client[0]).encode("latin-1")
            earlier = [value for name, value in pairs if name == b"x-forwarded-for"]
            headers.append((b"x-forwarded-for", b", ".join([*earlier, address])))
            forwarded.insert(0, b'for="' + address + b'"')
        if host is not None:
            headers.append((b"x-forwarded-host", host))
            forwarded.append(b'host="' + host.replace(b'"', b"") + b'"')
        headers.append((b"x-forwarded-proto", proto))
        headers.append((b"forwarded", b";".join(forwarded)))
        return headers


def _connection_tokens(pairs: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The header names a ``Connection`` header lists (hop-by-hop too)."""
    return {
        token.strip().lower()
        for name, value in pairs
        if name == b"connection"
        for token in value.split(b",")
        if token.strip()
    }


def _without_hop_by_hop(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    pairs = [(name.lower(), value) for name, value in raw]
    dropped = _connection_tokens(pairs)
    return [
        (name, value)
        for name, value in pairs
        if name not in dropped and name.decode("latin-1") not in HOP_BY_HOP
    ]


def _failure(
    code: int, error_num: int, base: str, what: str, error: Exception
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    detail = " ".join(str(error).split()) or type(error).__name__
    message = f"the upstream {base} {what}: {detail}"
    log.warning("%s", message)
    body = error_body(code, error_num, message)
    return code, error_headers(body), body
