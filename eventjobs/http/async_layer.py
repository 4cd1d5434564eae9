"""The async job layer: ASGI middleware that turns ``x-arango-async``
requests into jobs.

Installed as the Quart app's ``asgi_app``, it sees every HTTP request first:

0. It refuses too many or too large headers (431) and, when authentication
   is on, requests whose credentials do not hold (401): both before anything
   is routed or queued. ``/_open/`` paths and the health and readiness
   probes need no credentials.
1. It strips a ``/_db/<name>/`` prefix (recording the database and caller in
   the scope for handlers) so every route answers below any database.
2. It decides the target: the app's own routes, or the mounted ASGI app
   (``--app``) for paths the app does not route.
3. A request with ``x-arango-async: store`` or ``true`` that routes to a
   handler (job API excluded, spec 1.4) is read whole, recorded as a job and
   answered ``202`` once its ``queued`` event is durable. Everything else
   (no header, 404, 405, the job API, the monitoring endpoints) passes
   through synchronously.
4. Until the runtime has replayed the journal (the server listens before
   that, so that probes can watch), the job API and job submissions get 503
   "the server is starting"; other requests are served.

Every 503 it answers is counted in the runtime's metrics, by reason.

The job later replays the recorded request through :meth:`execute`, with the
same prefix handling and target, as if it had arrived without the header.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

from quart import Quart
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..authentication import Authenticator
from ..errors import (
    IdempotencyConflict,
    JournalUnavailable,
    NotRunning,
    QueueFull,
    QuotaExceeded,
    ShuttingDown,
)
from ..events import RecordedRequest, RecordedResponse
from ..headers import (
    BUSY_RETRY_AFTER,
    CONCURRENCY_KEY_HEADER,
    RETRIES_HEADER,
    RETRY_AFTER_HEADER,
    RETRY_DELAY_HEADER,
    DELAY_HEADER,
    IDEMPOTENCY_HEADER,
    NOT_BEFORE_HEADER,
    PRIORITY_HEADER,
    TIMEOUT_HEADER,
    BadHeader,
    parse_concurrency_key,
    parse_idempotency_key,
    parse_not_before,
    parse_priority,
    parse_retries,
    parse_seconds,
)
from ..retries import DEFAULT_RETRY_DELAY, MAX_RETRIES, unsafe_reason
from ..identity import ANONYMOUS, NOBODY, Caller
from ..projection import JobView
from ..results import (
    ERROR_ARANGO_CONFLICT,
    ERROR_FORBIDDEN,
    ERROR_HTTP_BAD_PARAMETER,
    ERROR_HTTP_HEADERS_TOO_LARGE,
    ERROR_HTTP_SERVICE_UNAVAILABLE,
    ERROR_QUEUE_FULL,
    ERROR_REQUEST_TOO_LARGE,
    ERROR_SHUTTING_DOWN,
    JSON_CONTENT_TYPE,
    error_body,
)
from ..runtime import Runtime
from .asgi_call import ASGIApp, Message, Scope, call_app, scope_for
from .context import CALLER_KEY, DATABASE_KEY, JOB_ID_KEY
from .paths import (
    is_job_api,
    is_open,
    is_operations,
    is_probe,
    split_database,
    strip_raw_database,
)
from .responses import ASYNC_ID_HEADER, shown
from .rerun import is_rerun_safe

ASYNC_HEADER = b"x-arango-async"

log = logging.getLogger("eventjobs.http")

#: Distinct ignored ``x-arango-async`` values warned about, at most (a client
#: sending a new value with every request must not grow the set forever).
MAX_WARNED_VALUES = 64

#: The endpoint name standing for "somewhere in the mounted app".
MOUNTED_ENDPOINT = "<mounted app>"

#: Never stored with a job: the marker itself and credentials (spec 1.3).
#: ``--redact-header`` adds to these.
_UNRECORDED_HEADERS = frozenset({ASYNC_HEADER, b"authorization", b"cookie"})


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class AsyncJobLayer:
    """See the module docstring.

    Args:
        app: the Quart app whose router decides what is routable.
        inner: the app's own ASGI callable (what this layer wraps).
        mounted: an ASGI app to serve the paths *app* does not route.
        authenticator: checks credentials; None means authentication is off
            and every request is the anonymous superuser.
    """

    def __init__(
        self,
        app: Quart,
        inner: ASGIApp,
        mounted: ASGIApp | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._app = app
        self._inner = inner
        self._mounted = mounted
        self._authenticator = authenticator
        self._warned_values: set[bytes] = set()

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self._app.extensions["eventjobs"]
        return runtime

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        settings = self.runtime.settings
        if _headers_too_large(
            scope, settings.max_header_count, settings.max_header_bytes
        ):
            await _send_error(
                send,
                431,
                ERROR_HTTP_HEADERS_TOO_LARGE,
                f"request header fields too large: at most {settings.max_header_count} "
                f"headers of {settings.max_header_bytes} bytes in all are accepted",
            )
            return
        # For run_in_process in synchronous handlers (jobs get it from their actor).
        self.runtime.lend_pool()
        original_path = scope["path"]
        bare_path = split_database(original_path)[1]
        open_path = is_open(bare_path)
        caller = await self._caller(scope, open_path or is_probe(bare_path))
        if caller is None:
            # Before routing and queueing: a stranger learns nothing, not
            # even which paths exist (spec 1.1).
            await _send_error(
                send,
                401,
                ERROR_FORBIDDEN,
                "not authorized to execute this request",
                [(b"www-authenticate", b'Basic realm="eventjobs", charset="UTF-8"')],
            )
            return
        scope = self._prepare(scope, caller, job_id=None)
        target, endpoint = self._route(scope)
        routable = endpoint is not None
        mode = _async_mode(scope)
        if mode is None:
            self._warn_if_ignored(scope)
        # The job API and /_open/ (whose bodies are credentials, never to be
        # journalled) are always synchronous (spec 1.4).
        job_api = is_job_api(scope["path"])
        synchronous = (
            mode is None
            or not routable
            or open_path
            or job_api
            or is_operations(scope["path"])
        )
        if (job_api or not synchronous) and not self.runtime.running:
            # The table is still being rebuilt: answering from it would be wrong.
            reason = self.runtime.readiness().reason or "the server is starting"
            await self._refuse(send, "starting", ERROR_HTTP_SERVICE_UNAVAILABLE, reason)
            return
        if synchronous:
            await target(scope, receive, send)
            return
        await self._accept(
            scope, receive, send, caller, original_path, store=mode == b"store"
        )

    def _warn_if_ignored(self, scope: Scope) -> None:
        """Log once per distinct value an ``x-arango-async`` that is neither
        ``store``, ``true`` nor ``false``: the request runs synchronously, as
        in ArangoDB, which is rarely what whoever sent ``STORE`` meant."""
        value = _header(scope, ASYNC_HEADER)
        if value is None or value == b"false" or value in self._warned_values:
            return
        if len(self._warned_values) >= MAX_WARNED_VALUES:
            return
        self._warned_values.add(value)
        more = (
            "; further unknown values are not logged"
            if len(self._warned_values) == MAX_WARNED_VALUES
            else ""
        )
        log.warning(
            "x-arango-async: %r is neither 'store' nor 'true' (the values are "
            "case-sensitive): such requests run synchronously, as in ArangoDB, "
            "and this is logged once per value%s",
            value.decode("latin-1"),
            more,
        )

    async def _caller(self, scope: Scope, open_path: bool) -> Caller | None:
        """Who sent the request; None when its credentials do not hold."""
        if self._authenticator is None:
            return ANONYMOUS
        if open_path:
            return NOBODY
        authorization = [
            bytes(value)
            for name, value in scope["headers"]
            if bytes(name).lower() == b"authorization"
        ]
        return await self._authenticator.authenticate(authorization)

    async def execute(self, job: JobView) -> RecordedResponse:
        """Run *job*'s recorded request through its target; see module docs.

        The job runs as its owner with the owner's superuser flag as the users
        file says now; with authentication off, as the superuser.
        """
        assert job.request is not None, f"job {job.job_id} has no request to run"
        if job.owner is None:
            caller = ANONYMOUS
        elif self._authenticator is None:
            caller = Caller(job.owner, superuser=True)
        else:
            caller = self._authenticator.caller_of(job.owner)
        scope = self._prepare(scope_for(job.request), caller, job_id=job.job_id)
        target, _endpoint = self._route(scope)
        return await call_app(
            target,
            scope,
            job.request.body,
            max_result_bytes=self.runtime.settings.max_result_bytes,
        )

    def rerun_safe(self, job: JobView) -> bool:
        """Whether *job*'s route declared itself safe to run again."""
        assert job.request is not None
        scope = self._prepare(scope_for(job.request), ANONYMOUS, job_id=job.job_id)
        target, endpoint = self._route(scope)
        if target is not self._inner or endpoint is None:
            return False
        return is_rerun_safe(self._app.view_functions.get(endpoint))

    def _route_rerun_safe(self, scope: Scope) -> bool:
        """Whether the (prepared) request reaches a route of the app that
        declared itself safe to run again."""
        target, endpoint = self._route(scope)
        if target is not self._inner or endpoint is None:
            return False
        return is_rerun_safe(self._app.view_functions.get(endpoint))

    def _prepare(self, scope: Scope, caller: Caller, job_id: int | None) -> Scope:
        database, path = split_database(scope["path"])
        prepared = dict(scope)
        prepared["path"] = path
        if scope.get("raw_path") is not None:
            prepared["raw_path"] = strip_raw_database(scope["raw_path"])
        prepared[CALLER_KEY] = caller
        prepared[DATABASE_KEY] = database
        prepared[JOB_ID_KEY] = job_id
        return prepared

    def _route(self, scope: Scope) -> tuple[ASGIApp, str | None]:
        """The app to call, and the endpoint the request reaches there (None
        when it reaches no handler: 404, 405, a redirect)."""
        try:
            endpoint, _args = self._app.url_map.bind("localhost").match(
                scope["path"], method=scope["method"]
            )
        except MethodNotAllowed:
            return self._inner, None
        except NotFound:
            if self._mounted is not None:
                # The mounted app's routes are its own business: everything
                # the app does not route is taken to be routable there.
                return self._mounted, MOUNTED_ENDPOINT
            return self._inner, None
        except HTTPException:  # a redirect (trailing slash and the like)
            return self._inner, None
        return self._inner, str(endpoint)

    async def _accept(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        caller: Caller,
        original_path: str,
        *,
        store: bool,
    ) -> None:
        runtime = self.runtime
        limit = runtime.settings.max_body_bytes
        unrecorded = _UNRECORDED_HEADERS | {
            name.encode("latin-1") for name in runtime.settings.redact_headers
        }
        if runtime.stopping:
            await self._refuse(
                send, "shutting_down", ERROR_SHUTTING_DOWN, "shutdown in progress"
            )
            return
        timeout = _header(scope, TIMEOUT_HEADER.encode("ascii"))
        if timeout is not None:
            try:
                parse_seconds(timeout.decode("latin-1"), allow_zero=False)
            except BadHeader:
                # Decided before queueing, like 413: a job that could not
                # apply its own timeout is never accepted.
                await _send_error(
                    send,
                    400,
                    ERROR_HTTP_BAD_PARAMETER,
                    f"bad parameter: {TIMEOUT_HEADER} must be a plain decimal "
                    "number of seconds above 0, not "
                    f"{shown(timeout.decode('latin-1'))}",
                )
                return
        try:
            shape = _shape(scope, runtime.jobs.clock(), runtime.settings.max_delay)
        except BadHeader as error:
            await _send_error(send, 400, ERROR_HTTP_BAD_PARAMETER, str(error))
            return
        if shape.get("retries"):
            unsafe = unsafe_reason(
                scope["method"],
                rerun_safe=self._route_rerun_safe(scope),
                idempotency_key="idempotency_key" in shape,
            )
            if unsafe is not None:
                await _send_error(send, 400, ERROR_HTTP_BAD_PARAMETER, unsafe)
                return
        try:
            body = await _read_body(scope, receive, limit)
        except _BodyTooLarge:
            await _send_error(
                send,
                413,
                ERROR_REQUEST_TOO_LARGE,
                f"request body too large: async jobs accept at most {limit} bytes",
            )
            return
        except _ClientGone:
            return  # nobody to answer, and nothing was recorded
        request = RecordedRequest(
            method=scope["method"],
            path=original_path,
            query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers=tuple(
                (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
                for name, value in scope["headers"]
                if bytes(name).lower() not in unrecorded
            ),
            body=body,
            client=_client_host(scope),
        )
        try:
            job_id = await runtime.jobs.submit(request, caller, store=store, **shape)
        except IdempotencyConflict as error:
            await _send_error(send, 422, ERROR_ARANGO_CONFLICT, str(error))
            return
        except QueueFull:
            await self._refuse(send, "queue_full", ERROR_QUEUE_FULL, "queue is full")
            return
        except QuotaExceeded as error:
            await self._refuse(send, "quota", ERROR_QUEUE_FULL, str(error))
            return
        except ShuttingDown:
            await self._refuse(
                send, "shutting_down", ERROR_SHUTTING_DOWN, "shutdown in progress"
            )
            return
        except JournalUnavailable as error:
            await self._refuse(
                send,
                "journal_unavailable",
                ERROR_HTTP_SERVICE_UNAVAILABLE,
                f"the job was not accepted: the journal cannot be written ({error})",
            )
            return
        except NotRunning as error:
            await self._refuse(
                send, "not_running", ERROR_HTTP_SERVICE_UNAVAILABLE, str(error)
            )
            return
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"0"),
        ]
        if store:
            headers.append(
                (ASYNC_ID_HEADER.encode("ascii"), str(job_id).encode("ascii"))
            )
        await _send(send, 202, headers, b"")

    async def _refuse(
        self, send: Any, reason: str, error_num: int, message: str
    ) -> None:
        """Answer 503 with *message*, counted under *reason* in the metrics.

        Every one says when to come back (``Retry-After``): a refusal
        because the server stops, once its drain (``shutdown_timeout``) is
        over, when a restarted server (or another node) takes the job; any
        other (queue full, quota, journal not writable, replay running) in
        :data:`~eventjobs.headers.BUSY_RETRY_AFTER` seconds.
        """
        self.runtime.metrics.refused(reason)
        seconds = BUSY_RETRY_AFTER
        if reason == "shutting_down":
            seconds = max(1, math.ceil(self.runtime.settings.shutdown_timeout))
        extra = [(RETRY_AFTER_HEADER.encode("ascii"), str(seconds).encode("ascii"))]
        await _send_error(send, 503, error_num, message, extra)


def _client_host(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The last value of header *name* (lower-case), or None."""
    found = None
    for key, value in scope["headers"]:
        if bytes(key).lower() == name:
            found = bytes(value)
    return found


def _shape(scope: Scope, now: float, max_delay: float) -> dict[str, Any]:
    """What a submission asks of its job's shape (``Idempotency-Key``,
    ``x-eventjobs-delay`` / ``-not-before``, ``x-eventjobs-priority``,
    ``x-eventjobs-concurrency-key``), as
    keyword arguments of ``Jobs.submit``; none of them: none.

    Raises:
        BadHeader: one of them is malformed or out of range (answered 400
            before the body is read: nothing is queued).
    """
    shape: dict[str, Any] = {}
    key = _header(scope, IDEMPOTENCY_HEADER.encode("ascii"))
    if key is not None:
        shape["idempotency_key"] = parse_idempotency_key(key.decode("latin-1"))
    delay = _header(scope, DELAY_HEADER.encode("ascii"))
    not_before = _header(scope, NOT_BEFORE_HEADER.encode("ascii"))
    if delay is not None and not_before is not None:
        raise BadHeader(f"send one of {DELAY_HEADER} and {NOT_BEFORE_HEADER}, not both")
    start: float | None = None
    if delay is not None:
        try:
            start = now + parse_seconds(delay.decode("latin-1"), allow_zero=True)
        except BadHeader as error:
            raise BadHeader(f"{DELAY_HEADER}: {error}") from None
    elif not_before is not None:
        start = parse_not_before(not_before.decode("latin-1"))
    if start is not None:
        if start - now > max_delay:
            raise BadHeader(
                f"the job's start is {start - now:.0f} seconds away: at most "
                f"{max_delay:g} (--max-delay) are accepted"
            )
        if start > now:  # a time already past: the job starts at once
            shape["not_before"] = start
    priority = _header(scope, PRIORITY_HEADER.encode("ascii"))
    if priority is not None:
        shape["priority"] = parse_priority(priority.decode("latin-1"))
    concurrency_key = _header(scope, CONCURRENCY_KEY_HEADER.encode("ascii"))
    if concurrency_key is not None:
        shape["concurrency_key"] = parse_concurrency_key(
            concurrency_key.decode("latin-1")
        )
    shape.update(_retries(scope, max_delay))
    return shape


def _retries(scope: Scope, max_delay: float) -> dict[str, Any]:
    """``x-eventjobs-retries`` and ``-retry-delay`` as keyword arguments of
    ``Jobs.submit`` (none for no retries).

    Raises:
        BadHeader: malformed, out of range, or a delay without retries.
    """
    raw = _header(scope, RETRIES_HEADER.encode("ascii"))
    delay = _header(scope, RETRY_DELAY_HEADER.encode("ascii"))
    if raw is None:
        if delay is not None:
            raise BadHeader(f"{RETRY_DELAY_HEADER} needs {RETRIES_HEADER}")
        return {}
    retries = parse_retries(raw.decode("latin-1"), MAX_RETRIES)
    shaped: dict[str, Any] = {}
    if retries:
        shaped["retries"] = retries
        shaped["retry_delay"] = DEFAULT_RETRY_DELAY
    if delay is not None:
        try:
            seconds = parse_seconds(delay.decode("latin-1"), allow_zero=True)
        except BadHeader as error:
            raise BadHeader(f"{RETRY_DELAY_HEADER}: {error}") from None
        if seconds > max_delay:
            raise BadHeader(
                f"{RETRY_DELAY_HEADER}: {seconds:g} seconds is more than the "
                f"{max_delay:g} (--max-delay) accepted"
            )
        if retries:
            shaped["retry_delay"] = seconds
    return shaped


def _async_mode(scope: Scope) -> bytes | None:
    """``b"store"`` or ``b"true"`` when the request asks to run as a job.

    Only those exact, case-sensitive values count (spec 1); the last header
    of that name wins.
    """
    mode = None
    for name, value in scope["headers"]:
        if bytes(name).lower() == ASYNC_HEADER:
            mode = bytes(value)
    return mode if mode in (b"store", b"true") else None


async def _read_body(scope: Scope, receive: Any, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if bytes(name).lower() == b"content-length":
            try:
                if int(value) > limit:
                    raise _BodyTooLarge()
            except ValueError:
                pass  # the server has already rejected a malformed length
    # Gathered in a BytesIO, not as chunks to join: each chunk goes as it
    # is written, and getvalue() hands over the buffer itself (CPython
    # does not copy it when nothing else holds it), so a big body is held
    # about once while it arrives, not twice.
    gathered = io.BytesIO()
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge()
        gathered.write(chunk)
        if not message.get("more_body", False):
            body = gathered.getvalue()
            gathered.close()
            return body


def _headers_too_large(scope: Scope, max_count: int, max_bytes: int) -> bool:
    headers = scope["headers"]
    if len(headers) > max_count:
        return True
    return sum(len(name) + len(value) for name, value in headers) > max_bytes


async def _send_error(
    send: Any,
    code: int,
    error_num: int,
    message: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = error_body(code, error_num, message)
    await _send(
        send,
        code,
        [
            (b"content-type", JSON_CONTENT_TYPE.encode("ascii")),
            (b"content-length", str(len(body)).encode("ascii")),
            *(extra_headers or []),
        ],
        body,
    )


async def _send(
    send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
