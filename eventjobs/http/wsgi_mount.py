"""A WSGI app (``--app`` naming a Flask, Django or any PEP 3333 callable)
served as the ASGI app the job layer mounts.

Each request is read whole (a body over ``--max-body-bytes`` is answered
413), turned into a picklable environ, and run by
:func:`eventjobs.wsgi_call.call_wsgi` under the chosen isolation; the
response, collected whole (streaming responses included), is sent back.
Synchronous requests and jobs take the same way.

Cancellation (a client's cancel, a job's timeout, a synchronous client that
went away):

- ``thread`` (``--app-threads``): as :func:`eventjobs.run_in_thread`: the job
  records ``cancelling`` and stores its 410 (or 504) once the request's
  thread returns.
- ``process`` (``--app-processes``): the worker process running the request
  is killed, the job stores its 410 (or 504) at once, and a fresh process,
  which imports the app again, takes its place.

A request waiting for a free thread or process is simply stopped.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ..actors.process_pool import ProcessPool
from ..results import ERROR_INTERNAL
from ..settings import Settings
from ..work.thread import run_in_thread
from ..wsgi_call import WSGIAnswer, WSGIApp, call_loaded, call_wsgi, load_once
from .asgi_call import Scope
from .context import DATABASE_KEY, JOB_ID_KEY
from .whole_body import ClientGone, read_body, send_error, send_too_large

log = logging.getLogger("eventjobs.jobs")

#: Request headers the environ carries without the ``HTTP_`` prefix (PEP 3333).
_CGI_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class WSGIMount:
    """See the module docstring.

    Args:
        app: the imported WSGI app (called in threads).
        reference: its ``MODULE:ATTR``, which worker processes import.
        settings: isolation, pool sizes and the body limit.
    """

    def __init__(self, app: WSGIApp, reference: str, settings: Settings) -> None:
        self._app = app
        self._reference = reference
        self._max_body = settings.max_body_bytes
        self.isolation = settings.app_isolation
        self._threads = trio.CapacityLimiter(settings.app_threads)
        self.pool: ProcessPool | None = None
        if self.isolation == "process":
            self.pool = ProcessPool(
                settings.app_processes, warmup=(load_once, (reference,))
            )

    async def serve(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep the worker processes (if any) until cancelled, then stop them."""
        if self.pool is None:
            task_status.started()
            await trio.sleep_forever()
        await self.pool.serve(task_status=task_status)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        try:
            body = await read_body(receive, self._max_body)
        except ClientGone:
            return  # nobody is left to answer, and nothing ran
        if body is None:
            await send_too_large(send, self._max_body)
            return
        environ = environ_for(scope, len(body), multiprocess=self.pool is not None)
        try:
            answer = await self._call(environ, body)
        except Exception as error:  # the app's failure is its answer, a 500
            log.error(
                "job %s: the WSGI application raised",
                scope.get(JOB_ID_KEY),
                exc_info=error,
            )
            await send_error(
                send,
                500,
                ERROR_INTERNAL,
                f"handler raised {type(error).__name__}: {error}",
            )
            return
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in answer.headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    async def _call(self, environ: dict[str, Any], body: bytes) -> WSGIAnswer:
        if self.pool is not None:
            answer: WSGIAnswer = await self.pool.run(
                call_loaded, self._reference, environ, body
            )
            return answer
        return await run_in_thread(
            call_wsgi, self._app, environ, body, limiter=self._threads
        )


def environ_for(scope: Scope, length: int, *, multiprocess: bool) -> dict[str, Any]:
    """The picklable part of a PEP 3333 environ for the ASGI request *scope*
    whose whole body is *length* bytes long."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = bytes(raw_name).decode("latin-1").lower()
        value = bytes(raw_value).decode("latin-1")
        key = _CGI_HEADERS.get(name) or "HTTP_" + name.upper().replace("-", "_")
        if key in headers:
            headers[key] += ("; " if name == "cookie" else ",") + value
        else:
            headers[key] = value
    server = scope.get("server")
    if server:
        server_name, server_port = str(server[0]), str(server[1])
    else:  # a job: the connection is gone; the Host header says where it went
        host = headers.get("HTTP_HOST", "localhost")
        server_name, _sep, server_port = host.rpartition(":")
        if not _sep or not server_port.isdigit():
            server_name, server_port = host, "80"
    client = scope.get("client")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        # PEP 3333: the path's bytes, each one a latin-1 character.
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": bytes(scope.get("query_string", b"")).decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.multithread": not multiprocess,
        "wsgi.multiprocess": multiprocess,
        # What a view may want to know about its job (None: a plain request).
        "eventjobs.job_id": scope.get(JOB_ID_KEY),
        "eventjobs.database": scope.get(DATABASE_KEY),
        **headers,
    }
    environ["CONTENT_LENGTH"] = str(length)
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    return environ
