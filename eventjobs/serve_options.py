"""The options of ``eventjobs serve`` and the :class:`~eventjobs.settings.Settings`
they make.

Each option's default is the environment's ``EVENTJOBS_*`` variable for its
setting (the one plain hypercorn reads), else the setting's default: the
command line wins over the environment, which wins over the default. A bad
option is reported with its name as the user typed it (``--max-running``),
not the field it sets; a bad variable with the variable's name.
"""

from __future__ import annotations

import argparse
import os

import attrs

from .errors import ConfigError
from .settings import DEFAULT_BIND, MEMORY_JOURNAL, Settings


def environment_defaults() -> Settings:
    """serve's defaults: the settings of the ``EVENTJOBS_*`` variables.

    A bad variable gives the built-in defaults here (the parser is built for
    every command, which need not read them); :func:`settings_from` reports
    it when serve starts.
    """
    try:
        return Settings.from_env()
    except ConfigError:
        return Settings()


def add_serve_command(commands: argparse._SubParsersAction, defaults: Settings) -> None:
    """Add ``serve`` and its options to *commands*, with *defaults*' values."""
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
        default=defaults.result_ttl,
        metavar="SECONDS",
        help="remove stored results this long after they finished (default: keep)",
    )
    serve.add_argument(
        "--max-results",
        type=int,
        default=defaults.max_results,
        metavar="N",
        help="beyond N stored results, remove the oldest (default: no limit)",
    )
    serve.add_argument(
        "--max-result-bytes",
        type=int,
        default=defaults.max_result_bytes,
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
        default=defaults.node_lease,
        metavar="SECONDS",
        help="PostgreSQL journal (several servers): a server that has not renewed its "
        "lease for this long is taken for dead and its jobs are recovered by another "
        f"(default {defaults.node_lease:g})",
    )
    serve.add_argument(
        "--checkpoint-key",
        default=defaults.checkpoint_key,
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
        default=defaults.app,
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
        default=defaults.upstream_pass_auth,
        help="forward the client's Authorization header to the upstream",
    )
    serve.add_argument(
        "--users",
        default=defaults.users,
        metavar="FILE",
        help="turn authentication on, with the users of FILE (see 'eventjobs users')",
    )
    serve.add_argument(
        "--jwt-secret-file",
        default=defaults.jwt_secret_file,
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
        default=defaults.max_results_per_user,
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


def settings_from(args: argparse.Namespace) -> Settings:
    """The server's settings from ``eventjobs serve``'s options.

    Raises:
        ConfigError: one of them, or an ``EVENTJOBS_*`` variable, is
            invalid (even one whose option is given too).
    """
    environment = Settings.from_env()  # a bad variable: named as such
    try:
        return _settings_of(args, environment)
    except ConfigError as error:
        # Name the option as typed, not the field it sets.
        field = error.setting or ""
        option = "--redact-header" if field == "redact_headers" else "--" + field
        raise error.named(option.replace("_", "-")) from None


def _settings_of(args: argparse.Namespace, environment: Settings) -> Settings:
    # Fields without an option (segment_bytes, ...) keep the environment's.
    return attrs.evolve(
        environment,
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
        upstream=tuple(args.upstream) or environment.upstream,
        upstream_timeout=args.upstream_timeout,
        upstream_pass_auth=args.upstream_pass_auth,
        users=args.users,
        jwt_secret_file=args.jwt_secret_file,
        jwt_lifetime=args.jwt_lifetime,
        redact_headers=tuple(args.redact_headers) or environment.redact_headers,
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
