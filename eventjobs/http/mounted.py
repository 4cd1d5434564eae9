"""Mounting an existing app behind the job layer (``--app MODULE:ATTR``): an
ASGI app as it is, a WSGI app through :class:`~eventjobs.http.wsgi_mount.WSGIMount`."""

from __future__ import annotations

import inspect
import logging
import math
from typing import cast

import trio

from ..app_reference import import_reference
from ..errors import ConfigError
from ..settings import Settings
from .asgi_call import ASGIApp, Message
from .upstream import Upstreams
from .wsgi_mount import WSGIMount

log = logging.getLogger("eventjobs.http")


def app_kind(app: object) -> str | None:
    """``"asgi"``, ``"wsgi"`` or None (neither), from how *app* is called.

    ASGI apps are called with ``(scope, receive, send)`` and are coroutine
    functions (or objects whose ``__call__`` is one); WSGI apps (Flask,
    Django's ``get_wsgi_application()``) are called with ``(environ,
    start_response)``. A plain callable that takes three arguments is taken
    for an ASGI app too (middleware classes whose ``__call__`` returns an
    awaitable).
    """
    if not callable(app) or inspect.isclass(app):
        return None
    # An object's __call__ is looked up on its type, as calling it does.
    coroutine = inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(
        type(app).__call__
    )
    try:
        signature = inspect.signature(app)
    except (TypeError, ValueError):  # a builtin without a signature
        return "asgi" if coroutine else "wsgi"
    takes_two, takes_three = _takes(signature, 2), _takes(signature, 3)
    if coroutine:
        return "asgi" if takes_three else None
    if takes_two:
        return "wsgi"
    return "asgi" if takes_three else None


def _takes(signature: inspect.Signature, count: int) -> bool:
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def _neither(reference: str, found: object) -> str:
    """Why *found* is neither kind of app, as the end of a sentence."""
    module, _sep, attr = reference.partition(":")
    if not callable(found) or inspect.isclass(found):
        what = "a class" if inspect.isclass(found) else type(found).__name__
        cause = f"it is {what}, not a callable app"
    else:
        cause = "it cannot be called with (scope, receive, send) as an async function"
        cause += " nor with (environ, start_response)"
    return (
        f"{attr.removesuffix('()')!r} of module {module!r} is neither an ASGI nor a "
        f"WSGI application: {cause}"
    )


class Mount:
    """What the job layer serves the paths it does not route with: the
    :attr:`app` and what it needs while the server runs.

    Start it with ``await nursery.start(mount.run)`` once the runtime runs;
    :meth:`shutdown` ends it (after the jobs have been drained).
    """

    def __init__(
        self,
        app: ASGIApp,
        lifespan: MountedLifespan | None = None,
        wsgi: WSGIMount | None = None,
        upstreams: Upstreams | None = None,
    ) -> None:
        self.app = app
        self.wsgi = wsgi
        self.upstreams = upstreams
        self._lifespan = lifespan
        self._scope = trio.CancelScope()
        self._done = trio.Event()

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    if self._lifespan is not None:
                        await nursery.start(self._lifespan.run)
                    if self.wsgi is not None:
                        await nursery.start(self.wsgi.serve)
                    task_status.started()
        finally:
            self._done.set()

    async def shutdown(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()
        self._scope.cancel()
        await self._done.wait()
        if self.upstreams is not None:
            await self.upstreams.aclose()


def open_mount(settings: Settings) -> Mount | None:
    """The mount *settings* ask for (``--app``, ``--upstream``), or None.

    With upstreams, the paths under their prefixes go to them and the
    others to the ``--app`` (404 without one).

    Raises:
        ConfigError: the app does not import, is neither an ASGI nor a WSGI
            application, or ``--app-isolation process`` is asked for an
            ASGI app; one sentence naming the module, attribute and cause.
    """
    mount = _open_app(settings)
    if not settings.upstream:
        return mount
    upstreams = Upstreams(settings, None if mount is None else mount.app)
    if mount is None:
        return Mount(cast("ASGIApp", upstreams), upstreams=upstreams)
    mount.app = cast("ASGIApp", upstreams)
    mount.upstreams = upstreams
    return mount


def _open_app(settings: Settings) -> Mount | None:
    if settings.app is None:
        return None
    reference = settings.app
    found = import_reference(reference)
    kind = app_kind(found)
    if kind is None:
        raise ConfigError(f"--app {reference}: {_neither(reference, found)}")
    if kind == "wsgi":
        wsgi = WSGIMount(found, reference, settings)
        return Mount(cast("ASGIApp", wsgi), wsgi=wsgi)
    if settings.app_isolation != "thread":
        raise ConfigError(
            f"--app {reference}: --app-isolation {settings.app_isolation} is for WSGI "
            "applications, and this is an ASGI one (it runs in the server's event loop)"
        )
    asgi = cast("ASGIApp", found)
    return Mount(asgi, lifespan=MountedLifespan(asgi))


class MountedLifespan:
    """Runs the mounted app's ASGI lifespan inside ours.

    :meth:`run` sends ``lifespan.startup`` and reports started once the app
    has answered; :meth:`shutdown` sends ``lifespan.shutdown`` and waits for
    the answer. An app that does not support the lifespan protocol (it raises
    or returns at once) is served without one, as ASGI servers do.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._to_app, self._app_receive = trio.open_memory_channel[Message](math.inf)
        self._answers_send, self._answers = trio.open_memory_channel[Message](math.inf)
        self._supported = True

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._serve_app, nursery)
            self._to_app.send_nowait({"type": "lifespan.startup"})
            answer = await self._answers.receive()
            if answer["type"] == "lifespan.startup.failed":
                raise ConfigError(
                    f"the mounted app failed to start: {answer.get('message', '')}"
                )
            task_status.started()

    async def shutdown(self) -> None:
        if not self._supported:
            return
        self._to_app.send_nowait({"type": "lifespan.shutdown"})
        await self._answers.receive()

    async def _serve_app(self, nursery: trio.Nursery) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": {},
        }
        try:
            await self._app(scope, self._app_receive.receive, self._answers_send.send)
        except Exception as error:
            log.info("the mounted app does not support the ASGI lifespan (%r)", error)
        # Returned or raised: no (more) lifespan. Unblock whoever waits.
        self._supported = False
        self._answers_send.send_nowait({"type": "lifespan.unsupported"})
