"""Running ``eventjobs serve``: the checks made before listening, the stop
signals, and hypercorn's trio worker around the app.

A bad setting, a journal that cannot be used or a port in use ends the start
with one sentence and exit status 1, before anything listens. The first
SIGINT or SIGTERM stops intake and drains the running jobs (up to
``--shutdown-timeout``); a second one interrupts them at once.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ConfigError,
    JournalConflict,
    JournalCorrupt,
    JournalUnavailable,
    NodeFenced,
)
from .serve_options import settings_from

if TYPE_CHECKING:
    from quart_trio import QuartTrio

    from .runtime import Runtime
    from .settings import Settings

log = logging.getLogger("eventjobs")


def run_server_processes(args: argparse.Namespace, arguments: list[str]) -> int:
    """``serve --workers N``: check what the workers would each find wrong
    (settings, the journal) once, here, then start them."""
    import trio

    from .http import create_app, runtime_of
    from .server_processes import run_workers

    try:
        check_workers(args.workers, args.journal)
        _check_journal_directory(args)
        runtime = runtime_of(create_app(settings_from(args)))
        trio.run(runtime.open_journal)
        trio.run(runtime.journal.aclose)
    except (ConfigError, JournalCorrupt, JournalUnavailable) as error:
        print(f"eventjobs: {error}", file=sys.stderr)
        return 1
    return run_workers(arguments, args.bind, args.workers)


def run_server(args: argparse.Namespace) -> int:
    import trio

    from .http import create_app

    try:
        settings = settings_from(args)
        if args.listen_fd is None:  # a worker's parent checked already
            _check_journal_directory(args)
        app = create_app(settings, replay_in_background=True)
        if args.listen_fd is None:
            _check_bind(settings.bind)
        previous = _note_stop_signals()
        try:
            trio.run(_serve, app, settings, args.access_log, args.listen_fd)
        except BaseException:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            raise
        # Stopped: the process only winds down now, and Python gives the
        # signals back to the system's default as it finalizes, so that a
        # late one would still end it with 143: ignore them from here on.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
    except (
        ConfigError,
        JournalConflict,
        JournalCorrupt,
        JournalUnavailable,
        NodeFenced,
    ) as error:
        print(f"eventjobs: {error}", file=sys.stderr)
        return 1
    return 0


def _check_journal_directory(args: argparse.Namespace) -> None:
    """Unless ``--create``: no journal among someone else's files.

    Raises:
        ConfigError: the directory holds files but no journal.
    """
    from .journal.opening import refuse_foreign_directory

    if not args.create:
        refuse_foreign_directory(args.journal)


def check_workers(workers: int, journal: str) -> None:
    """Several server processes need a journal they can share: PostgreSQL."""
    from .journal.opening import parse_location
    from .journal.pg_url import PostgresLocation

    if workers < 1:
        raise ConfigError(
            f"--workers must be a whole number of at least 1, not {workers}"
        )
    if workers == 1 or isinstance(parse_location(journal), PostgresLocation):
        return
    raise ConfigError(
        f"--workers {workers}: several server processes need a PostgreSQL journal "
        "(--journal postgresql://...), where each process is a node; a journal directory "
        "admits one process (docs/deployment.md). Run one process (--workers 1); for "
        "CPU-bound jobs, --worker-processes sizes the pool behind eventjobs.run_in_process"
    )


def _check_bind(bind: str) -> None:
    """Fail early, before the journal is opened, when the address is taken."""
    from .settings import parse_bind

    host, port = parse_bind(bind)
    try:
        probe = socket.create_server((host, port), family=_family(host))
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {bind}: {error.strerror or error}; stop what uses it or "
            "pass another --bind"
        ) from None
    probe.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


#: Stop signals that came while the server's own receiver was not open.
_noted_signals: list[int] = []


def _note_stop_signals() -> dict[signal.Signals, Any]:
    """From now on, a SIGINT or SIGTERM that comes while the server is not
    listening for them (before it does, and once it has stopped) is noted
    here, for the server to act on once it listens: Python's own handling
    would raise KeyboardInterrupt (a traceback, exit 130) or end the
    process (143). Return the handlers this replaces."""
    return {
        sig: signal.signal(sig, lambda signum, _frame: _noted_signals.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }


#: A second stop signal this soon after the first is taken for the same
#: stop: a terminal's Ctrl-C reaches every process of its group, and
#: ``serve --workers`` passes the signal on to its workers as well.
SAME_STOP_SECONDS = 1.0


def _on_signal(runtime: Runtime, sig: signal.Signals, first_at: float | None) -> float:
    """Log stop signal *sig* and act on it: the first (*first_at* None)
    stops the server; a later one interrupts the running jobs at once
    instead of waiting ``--shutdown-timeout`` for them. Return when the
    first came."""
    import trio

    now = trio.current_time()
    if first_at is None:
        log.info(
            "%s received: shutting down (a second signal interrupts the running "
            "jobs at once)",
            sig.name,
        )
        return now
    if now - first_at < SAME_STOP_SECONDS:
        return first_at
    log.info("%s received again: interrupting the running jobs now", sig.name)
    runtime.hurry()
    return first_at


async def _serve(
    app: QuartTrio, settings: Settings, access_log: bool, listen_fd: int | None = None
) -> None:
    # Open the journal before listening, so an unusable one is reported as
    # such; the replay runs once the server listens, so that probes can
    # watch it. A journal the replay cannot read ends the server: it is
    # raised here once hypercorn has shut down.
    import trio
    from hypercorn.config import Config as HypercornConfig
    from hypercorn.trio import serve as hypercorn_serve

    from .http import runtime_of
    from .journal.opening import describe_location

    runtime = runtime_of(app)
    await runtime.open_journal()
    config = HypercornConfig()
    # A worker of `--workers N` listens on the socket its parent bound.
    config.bind = [settings.bind if listen_fd is None else f"fd://{listen_fd}"]
    config.worker_class = "trio"
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    served: Any = app
    if access_log:
        from .observe.access_log import OneLinePerRequest, mark_response_start

        config.logger_class = OneLinePerRequest
        served = mark_response_start(app)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        told_to_stop = trio.Event()

        async def watch_signals() -> None:
            # The first signal stops the server; one that comes later, while
            # it waits for running jobs, ends that wait (see _on_signal).
            first_at: float | None = None
            for signum in _noted_signals:  # (came while it started)
                first_at = _on_signal(runtime, signal.Signals(signum), first_at)
                told_to_stop.set()
            _noted_signals.clear()
            async for signum in signals:
                first_at = _on_signal(runtime, signal.Signals(signum), first_at)
                told_to_stop.set()

        async def shutdown_trigger() -> None:
            async with trio.open_nursery() as race:

                async def on_signal() -> None:
                    await told_to_stop.wait()
                    race.cancel_scope.cancel()

                async def on_fatal() -> None:
                    await runtime.health.wait_fatal()
                    race.cancel_scope.cancel()

                race.start_soon(on_signal)
                race.start_soon(on_fatal)
            # hypercorn still serves the requests of open connections for a
            # while (its graceful timeout) before the app's shutdown runs:
            # none of them may queue a job now.
            runtime.stop_intake()
            if runtime.fatal is not None:
                # Stopped for good (fenced, journal taken): nothing those
                # requests do can be recorded, so do not wait for them.
                config.graceful_timeout = 0

        async def serve_until_stopped(
            task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
        ) -> None:
            await hypercorn_serve(
                served,
                config,
                shutdown_trigger=shutdown_trigger,
                mode="asgi",
                task_status=task_status,
            )
            nursery.cancel_scope.cancel()  # and stop watching for signals

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch_signals)
            binds = await nursery.start(serve_until_stopped)
            where = ", ".join(binds) if binds else settings.bind
            journal = describe_location(settings.journal)
            print(
                f"eventjobs {__version__} listening on {where}, journal {journal}",
                flush=True,
            )
    if runtime.fatal is not None:
        raise runtime.fatal
