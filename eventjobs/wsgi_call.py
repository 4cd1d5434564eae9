"""Call a WSGI application (PEP 3333) with one whole request, as plain data.

A request is ``(environ, body)``: *environ* holds the CGI keys
(``REQUEST_METHOD``, ``PATH_INFO``, ``HTTP_*``, ...) and ``wsgi.url_scheme``,
``wsgi.multithread``, ``wsgi.multiprocess`` as picklable values; *body* is
the whole request body. :func:`call_wsgi` adds ``wsgi.input`` and
``wsgi.errors``, runs the app, consumes its iterable (a streaming response,
``yield`` from a view, is collected whole), closes it, and returns a
:class:`WSGIAnswer`. Everything crosses a process boundary by pickle, so the
same call serves ``--app-isolation thread`` (in a thread of the server) and
``process`` (in a worker process, through :func:`call_loaded`).

Standard library only: a worker process imports this module and the app,
nothing of the server.

Cancellation: none here; the call is blocking. The caller decides what a
cancel does (wait for the thread, or kill the process).
"""

from __future__ import annotations

import io
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .app_reference import import_reference

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIAnswer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class WSGIProtocolError(Exception):
    """The application broke PEP 3333 (no ``start_response``, a bad status,
    a body that is not bytes)."""


def call_wsgi(app: WSGIApp, environ: Mapping[str, Any], body: bytes) -> WSGIAnswer:
    """Run *app* on one request; see the module docstring.

    Raises:
        WSGIProtocolError: the app did not answer as PEP 3333 says.
        Exception: whatever the app raised.
    """
    full = dict(environ)
    full["wsgi.version"] = (1, 0)
    full["wsgi.input"] = io.BytesIO(body)
    full["wsgi.errors"] = sys.stderr
    full.setdefault("wsgi.run_once", False)
    started: list[Any] = []
    chunks: list[bytes] = []

    def write(data: bytes) -> None:  # the legacy write() callable
        chunks.append(_bytes(data))

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and chunks:
            raise exc_info[1].with_traceback(exc_info[2])  # too late to change
        started[:] = [status, headers]
        return write

    result = app(full, start_response)
    try:
        for chunk in result:
            if chunk:
                chunks.append(_bytes(chunk))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise WSGIProtocolError("the WSGI application returned without start_response")
    status, headers = started
    try:
        code = int(str(status).split(" ", 1)[0])
    except ValueError:
        raise WSGIProtocolError(
            f"the WSGI application gave the status {status!r}, not 'CODE REASON'"
        ) from None
    return WSGIAnswer(
        code,
        [(str(name).lower(), str(value)) for name, value in headers],
        b"".join(chunks),
    )


def _bytes(data: object) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise WSGIProtocolError(
            f"the WSGI application produced {type(data).__name__}, not bytes"
        )
    return bytes(data)


#: The apps this process has imported, by reference: a worker imports its
#: app once and serves every later request with it.
_LOADED: dict[str, Any] = {}


def load_once(reference: str) -> None:
    """Import the app *reference* names, unless this process already has."""
    if reference not in _LOADED:
        _LOADED[reference] = import_reference(reference)


def call_loaded(reference: str, environ: Mapping[str, Any], body: bytes) -> WSGIAnswer:
    """:func:`call_wsgi` with the app *reference* names (imported once per
    process); what the app raises is printed to stderr (the server's log)
    with its traceback, which pickling the exception loses, and re-raised."""
    load_once(reference)
    try:
        return call_wsgi(_LOADED[reference], environ, body)
    except Exception:
        traceback.print_exc(file=sys.stderr)
        raise
