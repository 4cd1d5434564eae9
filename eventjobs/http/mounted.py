"""Mounting an existing ASGI app behind the job layer (``--app MODULE:ATTR``)."""

from __future__ import annotations

import importlib
import logging
import math
from typing import Any

import trio

from ..errors import ConfigError
from .asgi_call import ASGIApp, Message

log = logging.getLogger("eventjobs.http")


def load_app(reference: str) -> ASGIApp:
    """Import ``MODULE:ATTR`` and return that ASGI app.

    ``ATTR`` may name a factory ending in ``()`` (``pkg.web:create_app()``),
    called without arguments.

    Raises:
        ConfigError: the module does not import, has no such attribute, or it
            is not callable; the message says which.
    """
    module_name, _sep, attr = reference.partition(":")
    call = attr.endswith("()")
    attr = attr.removesuffix("()")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # whatever the module raises while importing
        raise ConfigError(
            f"--app {reference}: module {module_name!r} does not import "
            f"({type(error).__name__}: {error})"
        ) from None
    try:
        app: Any = getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"--app {reference}: module {module_name!r} has no {attr!r}"
        ) from None
    if call:
        app = app()
    if not callable(app):
        raise ConfigError(f"--app {reference}: {attr!r} is not an ASGI application")
    return app


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
