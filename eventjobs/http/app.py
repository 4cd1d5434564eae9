"""Building the eventjobs Quart-Trio app."""

from __future__ import annotations

import logging
import time
from typing import cast
from collections.abc import Callable

from quart_trio import QuartTrio

from ..journal import Journal
from ..runtime import Runtime, longest_shutdown
from ..settings import Settings
from ..authentication import Authenticator, read_secret
from . import (
    arango_job_api,
    builtins,
    dashboard_jobs,
    error_handlers,
    journal_api,
    live,
    login,
)
from . import openapi, operations, schedules_api, ui
from .async_layer import AsyncJobLayer
from .asgi_call import ASGIApp
from .mounted import open_mount

log = logging.getLogger("eventjobs")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], float] | None = None,
    journal: Journal | None = None,
    replay_in_background: bool = False,
    retry_jitter: Callable[[], float] | None = None,
) -> QuartTrio:
    """A Quart-Trio app serving the job API, with the async layer in front.

    Register your own routes on it as on any Quart app: each of them then
    also accepts ``x-arango-async``. Serve it with hypercorn's trio worker
    (``eventjobs serve`` does); in tests, enter ``app.test_app()`` so that the
    job runtime starts.

    Args:
        settings: limits, journal location and ``app`` to mount; defaults to
            ``Settings()`` (file journal in ``./journal``).
        clock: the server's own clock, for event stamps (tests inject their
            own; see ``Runtime``: a node's events carry the database's time).
        journal: an already open journal to use instead of ``settings.journal``.
        replay_in_background: let the server listen before the journal is
            replayed, so that ``/_eventjobs/health``, ``/ready`` and
            ``/metrics`` answer during a long replay (the job API answers
            503 "the server is starting" until it is done). ``eventjobs
            serve`` and ``eventjobs.asgi`` turn it on. Off, startup (and
            ``app.test_app()``) waits for the replay and recovery.
        retry_jitter: numbers from 0 to 1 for the back-off of jobs that
            retry (default random; tests inject their own).

    Raises:
        ConfigError: ``settings.app`` cannot be loaded, or the users file or
            JWT secret file cannot be used.
    """
    settings = Settings() if settings is None else settings
    app = QuartTrio("eventjobs")
    # Quart-Trio gives background tasks this long after shutdown begins; our
    # after_serving drains jobs for shutdown_timeout and then flushes.
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = longest_shutdown(settings)
    # One body limit for synchronous requests and the jobs that replay them.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.url_map.converters["jobpath"] = arango_job_api.JobPathConverter
    error_handlers.register(app)
    app.register_blueprint(arango_job_api.blueprint)
    app.register_blueprint(builtins.blueprint)
    app.register_blueprint(login.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(journal_api.blueprint)
    app.register_blueprint(operations.blueprint)
    app.register_blueprint(schedules_api.blueprint)
    # The dashboard: its files, its job rows and its live feed.
    for dashboard in (ui, dashboard_jobs, live):
        app.register_blueprint(dashboard.blueprint)

    authenticator = None
    if settings.users is not None:
        secret = (
            read_secret(settings.jwt_secret_file) if settings.jwt_secret_file else None
        )
        authenticator = Authenticator(
            settings.users,
            secret=secret,
            token_lifetime=settings.jwt_lifetime,
            clock=clock or time.time,
        )
    app.extensions[login.AUTHENTICATOR_KEY] = authenticator

    mount = open_mount(settings)
    mounted = mount.app if mount is not None else None
    # Quart types its ASGI entry with hypercorn's TypedDict scopes and events;
    # the layer hands it the very dicts the server gave, typed as mappings.
    layer = AsyncJobLayer(app, cast("ASGIApp", app.asgi_app), mounted, authenticator)
    runtime = Runtime(
        settings,
        layer.execute,
        clock=clock,
        journal=journal,
        rerun_safe=layer.rerun_safe,
        **({} if retry_jitter is None else {"retry_jitter": retry_jitter}),
    )
    app.extensions["eventjobs"] = runtime
    # Quart's documented way to wrap its ASGI entry in middleware; mypy sees a
    # method replaced, and the layer's mapping-typed signature.
    app.asgi_app = layer  # type: ignore[method-assign, assignment]

    async def run_in_background() -> None:
        try:
            await runtime.run()
        except Exception as error:
            if runtime.fatal is not error:
                raise  # a bug: let it end the app
            # Kept by the runtime: health and ready answer 503 with it, and
            # ``eventjobs serve`` ends with it.
            log.critical("eventjobs cannot serve jobs: %s", error)

    @app.before_serving
    async def start_runtime() -> None:
        if replay_in_background:
            app.nursery.start_soon(run_in_background)
        else:
            await app.nursery.start(runtime.run)
        if mount is not None:
            await app.nursery.start(mount.run)

    @app.after_serving
    async def stop_runtime() -> None:
        await runtime.shutdown()
        if mount is not None:
            await mount.shutdown()

    return app


def runtime_of(app: QuartTrio) -> Runtime:
    """The job runtime behind an app made by :func:`create_app`."""
    runtime: Runtime = app.extensions["eventjobs"]
    return runtime
