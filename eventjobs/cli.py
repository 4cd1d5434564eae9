"""The ``eventjobs`` command. The only place that calls ``trio.run``.

``eventjobs serve`` runs the app under hypercorn's trio worker;
``eventjobs users`` manages the users file (see :mod:`eventjobs.user_commands`);
``eventjobs job`` is a client of a running server (:mod:`eventjobs.client`). Every bad
setting (an unusable journal, a port in use, an ``--app`` that does not
import) ends the command with exit status 1 and one sentence on stderr.

``eventjobs job`` is parsed and run with the client alone: the server side
(Quart, trio, hypercorn, the journals) is imported only by the commands
that use it, which keeps the client's start-up short.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .client import commands as client_commands
from .errors import (
    ConfigError,
    JournalConflict,
    JournalCorrupt,
    JournalUnavailable,
    NodeFenced,
)

if TYPE_CHECKING:
    from quart_trio import QuartTrio

    from .runtime import Runtime
    from .settings import Settings

log = logging.getLogger("eventjobs")


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="eventjobs",
        description="An event-sourced async job server speaking ArangoDB's job API.",
    )
    parser.add_argument(
        "--version", action="version", version=f"eventjobs {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def build_client_parser() -> argparse.ArgumentParser:
    """The parser of ``eventjobs job ...`` alone: the same as :func:`build_parser`'s
    ``job`` command, without importing the server side."""
    parser, commands = _top_parser()
    client_commands.add_parser(commands)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser (imports the modules of every command)."""
    from . import user_commands
    from .audit import commands as audit_commands
    from .audit import copy as journal_copy
    from .audit import keygen as journal_keygen
    from .settings import DEFAULT_BIND, MEMORY_JOURNAL, Settings

    parser, commands = _top_parser()
    defaults = Settings()
    serve = commands.add_parser("serve", help="run the server (hypercorn, trio worker)")
    serve.add_argument(
        "--bind",
        default=os.environ.get("EVENTJOBS_BIND", DEFAULT_BIND),
        metavar="HOST:PORT",
        help=f"default {DEFAULT_BIND}, or EVENTJOBS_BIND",
    )
    serve.add_argument(
        "--journal",
        default=defaults.journal,
        metavar="DIR|URL",
        help=f"journal directory (default ./{defaults.journal}), or a PostgreSQL URL "
        f"postgresql://USER@HOST/DATABASE?schema=NAME; {MEMORY_JOURNAL} keeps "
        "nothing across restarts",
    )
    serve.add_argument(
        "--create",
        action="store_true",
        help="start the journal even in a directory that holds other files (without "
        "it, such a directory is refused; an empty or missing one is always fine)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the address (default 1); more than one needs a "
        "PostgreSQL journal, where each process is a node (docs/deployment.md)",
    )
    # Internal: a worker process of --workers N serves on this inherited socket.
    serve.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--max-running",
        type=int,
        default=defaults.max_running,
        metavar="N",
        help=f"jobs running at once (default {defaults.max_running})",
    )
    serve.add_argument(
        "--max-queued",
        type=int,
        default=defaults.max_queued,
        metavar="N",
        help=f"jobs waiting to start before submissions get 503 (default {defaults.max_queued})",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=defaults.max_body_bytes,
        metavar="N",
        help="largest request body of an async job (default 16 MiB)",
    )
    serve.add_argument(
        "--max-sleep",
        type=float,
        default=defaults.max_sleep,
        metavar="SECONDS",
        help=f"longest duration /_admin/sleep accepts (default {defaults.max_sleep:g})",
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=defaults.shutdown_timeout,
        metavar="SECONDS",
        help="at shutdown, how long running jobs may finish before they are interrupted "
        f"(default {defaults.shutdown_timeout:g})",
    )
    serve.add_argument(
        "--result-ttl",
        type=float,
        default=None,
        metavar="SECONDS",
        help="remove stored results this long after they finished (default: keep)",
    )
    serve.add_argument(
        "--max-results",
        type=int,
        default=None,
        metavar="N",
        help="beyond N stored results, remove the oldest (default: no limit)",
    )
    serve.add_argument(
        "--max-result-bytes",
        type=int,
        default=None,
        metavar="N",
        help="store no response larger than N bytes; such a job's result says so",
    )
    serve.add_argument(
        "--worker-processes",
        type=int,
        default=defaults.worker_processes,
        metavar="N",
        help="processes for eventjobs.run_in_process (default: one per core, "
        f"{defaults.worker_processes} here)",
    )
    serve.add_argument(
        "--job-timeout",
        type=float,
        default=defaults.job_timeout,
        metavar="SECONDS",
        help="longest a job may run (0: no limit; a request's x-eventjobs-timeout overrides)",
    )
    serve.add_argument(
        "--node-lease",
        type=float,
        default=float(os.environ.get("EVENTJOBS_NODE_LEASE", defaults.node_lease)),
        metavar="SECONDS",
        help="PostgreSQL journal (several servers): a server that has not renewed its "
        "lease for this long is taken for dead and its jobs are recovered by another "
        f"(default {defaults.node_lease:g})",
    )
    serve.add_argument(
        "--checkpoint-key",
        default=os.environ.get("EVENTJOBS_CHECKPOINT_KEY") or None,
        metavar="PREFIX.key",
        help="sign checkpoints of the journal's Merkle tree with this key "
        "(from 'eventjobs journal keygen'; or EVENTJOBS_CHECKPOINT_KEY); docs/audit.md",
    )
    serve.add_argument(
        "--checkpoint-interval",
        type=float,
        default=defaults.checkpoint_interval,
        metavar="SECONDS",
        help="sign a checkpoint at most this often, when the journal grew "
        f"(default {defaults.checkpoint_interval:g}), and at shutdown",
    )
    serve.add_argument(
        "--max-wait",
        type=float,
        default=defaults.max_wait,
        metavar="SECONDS",
        help=f"cap on x-eventjobs-wait (default {defaults.max_wait:g})",
    )
    serve.add_argument(
        "--progress-interval",
        type=float,
        default=defaults.progress_interval,
        metavar="SECONDS",
        help="record a job's progress reports at most this often "
        f"(default {defaults.progress_interval:g})",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request through hypercorn's access log (off by default: it "
        "costs about a tenth of the server's time per request, docs/performance.md)",
    )
    serve.add_argument(
        "--log-format",
        default=os.environ.get("EVENTJOBS_LOG_FORMAT", "text"),
        metavar="text|json",
        help="text lines, or one JSON object per line for log shippers (default text, "
        "or EVENTJOBS_LOG_FORMAT); see docs/operations.md",
    )
    serve.add_argument(
        "--log-level",
        default=os.environ.get("EVENTJOBS_LOG_LEVEL", "info"),
        metavar="LEVEL",
        help="debug, info (the default), warning or error (or EVENTJOBS_LOG_LEVEL)",
    )
    serve.add_argument(
        "--job-log",
        action="store_true",
        default=os.environ.get("EVENTJOBS_JOB_LOG", "").lower()
        in ("1", "true", "yes", "on"),
        help="log one line per job transition on eventjobs.jobs (off by default: it "
        "costs some 15%% more CPU per job, docs/operations.md; or EVENTJOBS_JOB_LOG=1)",
    )
    serve.add_argument(
        "--app",
        default=None,
        metavar="MODULE:ATTR",
        help="an ASGI or WSGI app (FastAPI, Flask, Django, ...) to serve behind the "
        "job layer",
    )
    serve.add_argument(
        "--app-isolation",
        default=defaults.app_isolation,
        choices=("thread", "process"),
        help="where a WSGI app's requests run: threads of the server (a cancel waits "
        "for the request to return) or worker processes that a cancel kills "
        f"(default {defaults.app_isolation})",
    )
    serve.add_argument(
        "--app-threads",
        type=int,
        default=defaults.app_threads,
        metavar="N",
        help=f"threads for a WSGI app under thread isolation (default {defaults.app_threads})",
    )
    serve.add_argument(
        "--app-processes",
        type=int,
        default=defaults.app_processes,
        metavar="N",
        help="worker processes for a WSGI app under process isolation (default: one "
        f"per core, {defaults.app_processes} here)",
    )
    serve.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="URL|/PREFIX=URL",
        help="send the paths under PREFIX (all paths, without one) to the HTTP service "
        "at URL; repeatable, the longest prefix wins",
    )
    serve.add_argument(
        "--upstream-timeout",
        type=float,
        default=defaults.upstream_timeout,
        metavar="SECONDS",
        help="an upstream silent for this long gives 504 "
        f"(default {defaults.upstream_timeout:g})",
    )
    serve.add_argument(
        "--upstream-pass-auth",
        action="store_true",
        help="forward the client's Authorization header to the upstream",
    )
    serve.add_argument(
        "--users",
        default=None,
        metavar="FILE",
        help="turn authentication on, with the users of FILE (see 'eventjobs users')",
    )
    serve.add_argument(
        "--jwt-secret-file",
        default=None,
        metavar="FILE",
        help="the secret that signs JWTs; without it a random one per start, so "
        "tokens stop working when the server restarts",
    )
    serve.add_argument(
        "--jwt-lifetime",
        type=float,
        default=defaults.jwt_lifetime,
        metavar="SECONDS",
        help=f"how long a token from POST /_open/auth is valid (default {defaults.jwt_lifetime:g})",
    )
    serve.add_argument(
        "--redact-header",
        action="append",
        default=[],
        metavar="NAME",
        dest="redact_headers",
        help="a request header never written to the journal (repeatable; Authorization "
        "and Cookie always are left out)",
    )
    serve.add_argument(
        "--max-results-per-user",
        type=int,
        default=None,
        metavar="N",
        help="stored job results one user may hold (default: no limit)",
    )
    serve.add_argument(
        "--max-header-count",
        type=int,
        default=defaults.max_header_count,
        metavar="N",
        help=f"request headers accepted (default {defaults.max_header_count}; 431 beyond)",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=int,
        default=defaults.max_header_bytes,
        metavar="N",
        help=f"total size of request headers (default {defaults.max_header_bytes}; 431 beyond)",
    )
    serve.add_argument(
        "--idempotency-window",
        type=float,
        default=defaults.idempotency_window,
        metavar="SECONDS",
        help="how long an Idempotency-Key gives back its first job "
        f"(default {defaults.idempotency_window:g})",
    )
    serve.add_argument(
        "--max-delay",
        type=float,
        default=defaults.max_delay,
        metavar="SECONDS",
        help="furthest ahead x-eventjobs-delay or x-eventjobs-not-before may put a "
        f"job's start (default {defaults.max_delay:g}, 30 days; 400 beyond)",
    )
    serve.add_argument(
        "--priority-aging",
        type=float,
        default=defaults.priority_aging,
        metavar="SECONDS",
        help="a waiting job gains one priority level per this many seconds "
        f"(default {defaults.priority_aging:g}; 0: off)",
    )
    serve.add_argument(
        "--key-concurrency",
        type=int,
        default=defaults.key_concurrency,
        metavar="N",
        help="jobs of one user with the same x-eventjobs-concurrency-key that run "
        f"at once, on this server (default {defaults.key_concurrency})",
    )
    user_commands.add_parser(commands)
    client_commands.add_parser(commands)
    journal = commands.add_parser("journal", help="look after a journal directory")
    journal_commands = journal.add_subparsers(
        dest="journal_command", required=True, metavar="COMMAND"
    )
    prune = journal_commands.add_parser(
        "prune",
        help="remove (or archive) old segments the server no longer needs",
        description="Remove whole segments older than --before that the newest snapshot "
        "covers, leaving a checkpoint so what remains stays verifiable. Safe while a "
        "server runs on the journal.",
    )
    prune.add_argument("directory", nargs="?", default=defaults.journal, metavar="DIR")
    prune.add_argument(
        "--before", required=True, metavar="TIME", help="ISO 8601 or unix seconds"
    )
    prune.add_argument(
        "--archive",
        default=None,
        metavar="DIR",
        help="move segments here instead of deleting",
    )
    audit_commands.add_commands(journal_commands)
    journal_copy.add_command(journal_commands)
    journal_keygen.add_command(journal_commands)
    from .audit import trail_commands

    trail_commands.add_commands(journal_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["job"]:
        # The client's start-up is most of a short command's time: only its
        # own parser, and nothing of the server (no other option comes first).
        return client_commands.run(_parse(build_client_parser(), arguments))
    args = _parse(build_parser(), arguments)
    from .observe import logformat

    if args.command == "users":
        from . import user_commands

        return user_commands.run(args)
    # Like hypercorn and uvicorn: --app modules are found in the current
    # directory (a console script's sys.path does not include it).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.command == "journal":
        logging.basicConfig(level=logging.INFO, format=logformat.TEXT_FORMAT)
        return _journal_command(args)
    try:
        logformat.configure(args.log_format, args.log_level, job_log=args.job_log)
    except ValueError as error:
        print(
            f"eventjobs: {error} (--log-format or EVENTJOBS_LOG_FORMAT, --log-level or "
            "EVENTJOBS_LOG_LEVEL)",
            file=sys.stderr,
        )
        return 1
    if args.workers != 1 and args.listen_fd is None:
        return _run_workers(args, arguments)
    return _run_server(args)


def _parse(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """Parse *arguments*; an unknown option is reported with the usage of the
    command it was given to (argparse would show the top level's)."""
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        command = parser
        while (chosen := _chosen_subcommand(command, args)) is not None:
            command = chosen
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _chosen_subcommand(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser | None = action.choices.get(
                str(getattr(args, action.dest, ""))
            )
            return chosen
    return None


def _run_workers(args: argparse.Namespace, arguments: list[str]) -> int:
    """``serve --workers N``: check what the workers would each find wrong
    (settings, the journal) once, here, then start them."""
    import trio

    from .http import create_app, runtime_of
    from .server_processes import run_workers

    try:
        check_workers(args.workers, args.journal)
        _check_journal_directory(args)
        runtime = runtime_of(create_app(_settings(args)))
        trio.run(runtime.open_journal)
        trio.run(runtime.journal.aclose)
    except (ConfigError, JournalCorrupt, JournalUnavailable) as error:
        print(f"eventjobs: {error}", file=sys.stderr)
        return 1
    return run_workers(arguments, args.bind, args.workers)


def _settings(args: argparse.Namespace) -> Settings:
    """The server's settings from ``eventjobs serve``'s options.

    Raises:
        ConfigError: one of them is invalid.
    """
    from .settings import Settings

    try:
        return _settings_of(args, Settings)
    except ConfigError as error:
        # Name the option as typed, not the field it sets.
        field = error.setting or ""
        option = "--redact-header" if field == "redact_headers" else "--" + field
        raise error.named(option.replace("_", "-")) from None


def _settings_of(args: argparse.Namespace, Settings: type[Settings]) -> Settings:
    return Settings(
        journal=args.journal,
        bind=args.bind,
        max_running=args.max_running,
        max_queued=args.max_queued,
        max_body_bytes=args.max_body_bytes,
        max_sleep=args.max_sleep,
        shutdown_timeout=args.shutdown_timeout,
        result_ttl=args.result_ttl,
        max_results=args.max_results,
        max_result_bytes=args.max_result_bytes,
        worker_processes=args.worker_processes,
        job_timeout=args.job_timeout,
        max_wait=args.max_wait,
        progress_interval=args.progress_interval,
        app=args.app,
        app_isolation=args.app_isolation,
        app_threads=args.app_threads,
        app_processes=args.app_processes,
        upstream=tuple(args.upstream),
        upstream_timeout=args.upstream_timeout,
        upstream_pass_auth=args.upstream_pass_auth,
        users=args.users,
        jwt_secret_file=args.jwt_secret_file,
        jwt_lifetime=args.jwt_lifetime,
        redact_headers=tuple(args.redact_headers),
        max_results_per_user=args.max_results_per_user,
        max_header_count=args.max_header_count,
        max_header_bytes=args.max_header_bytes,
        node_lease=args.node_lease,
        checkpoint_key=args.checkpoint_key,
        checkpoint_interval=args.checkpoint_interval,
        idempotency_window=args.idempotency_window,
        max_delay=args.max_delay,
        priority_aging=args.priority_aging,
        key_concurrency=args.key_concurrency,
    )


def _run_server(args: argparse.Namespace) -> int:
    import trio

    from .http import create_app

    try:
        settings = _settings(args)
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


def _journal_command(args: argparse.Namespace) -> int:
    from .audit import commands as audit_commands
    from .audit import copy as journal_copy
    from .journal.opening import parse_location
    from .journal.pg_url import PostgresLocation, redact
    from .journal.pruning import prune
    from .timeparse import parse_time

    if args.journal_command in audit_commands.COMMANDS:
        return audit_commands.run(args)
    if args.journal_command == "copy":
        return journal_copy.run(args)
    from .audit import trail_commands

    if args.journal_command in trail_commands.COMMANDS:
        return trail_commands.run(args)
    if args.journal_command == "keygen":
        from .audit import keygen as journal_keygen

        return journal_keygen.run(args)
    try:
        location = parse_location(args.directory)
    except ConfigError as error:
        print(f"eventjobs journal prune: {error}", file=sys.stderr)
        return 1
    if isinstance(location, PostgresLocation):
        print(
            f"eventjobs journal prune: {redact(args.directory)} is a PostgreSQL journal; "
            "prune works on journal directories only (a PostgreSQL journal keeps every "
            "record; see docs/deployment.md for its size)",
            file=sys.stderr,
        )
        return 1
    try:
        before = parse_time(args.before)
        result = prune(
            Path(args.directory), before, Path(args.archive) if args.archive else None
        )
    except (ValueError, ConfigError, JournalCorrupt) as error:
        print(f"eventjobs journal prune: {error}", file=sys.stderr)
        return 1
    if not result.segments:
        print(
            "nothing to prune: no old segment is both covered by a snapshot and older"
        )
    else:
        where = f"moved to {args.archive}" if args.archive else "removed"
        names = ", ".join(path.name for path in result.segments)
        print(
            f"{len(result.segments)} segment(s) {where} ({names}); records up to "
            f"{result.through_seq} are checkpointed"
        )
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
