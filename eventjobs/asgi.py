"""An app factory for the plain hypercorn command line::

    EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn -k trio 'eventjobs.asgi:create_app()'

Settings come from ``EVENTJOBS_*`` environment variables (see
:meth:`eventjobs.Settings.from_env`); ``EVENTJOBS_JOURNAL`` is a directory or a
``postgresql://`` URL. hypercorn listens where its own ``--bind`` says
(``EVENTJOBS_BIND`` is for ``eventjobs serve``; set here, it is warned about). On a journal directory use one worker (``-w 1``,
the default): it admits a single writing process, and a second worker is
refused with a message saying so; on PostgreSQL any number of workers (and
machines) share the journal, each process a node (docs/deployment.md). ``EVENTJOBS_LOG_FORMAT``
(``text`` or ``json``), when set, sends eventjobs' logs (and hypercorn's,
which propagate) to stderr in that format at ``EVENTJOBS_LOG_LEVEL``
(default ``info``), with one line per job transition if
``EVENTJOBS_JOB_LOG=1``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import trio
from quart_trio import QuartTrio

from .errors import ConfigError, JournalCorrupt, JournalInUse, JournalUnavailable
from .http import create_app as _create_app
from .http import runtime_of
from .observe import logformat
from .settings import Settings

TRUE_WORDS = ("1", "true", "yes", "on")

log = logging.getLogger("eventjobs")


def create_app() -> QuartTrio:
    """The eventjobs app configured from the environment, its journal opened.

    hypercorn calls this before it starts its event loop, so the journal is
    opened here, in a short trio run of its own: a bad setting or an
    unusable journal end the process with one sentence saying what is
    wrong, instead of a failed ASGI lifespan. The replay runs once hypercorn
    serves (``/_eventjobs/ready`` answers 503 until it is done); a journal
    it cannot read is logged, and health and ready then answer 503 with it.

    hypercorn 0.18 calls this in its worker process and exits 0 whatever
    the worker's status: :func:`check_before_serving`, run in hypercorn's
    own process by ``--config python:eventjobs.hypercorn_config``, makes
    the same checks first, so that they end hypercorn with status 1.
    """
    with _one_sentence():
        settings = _configure()
        if "EVENTJOBS_BIND" in os.environ:
            # hypercorn has bound its sockets by now, from its own --bind.
            log.warning(
                "EVENTJOBS_BIND=%s is not used under hypercorn, which listens where its own "
                "--bind says (default 127.0.0.1:8000); EVENTJOBS_BIND is read by eventjobs serve",
                settings.bind,
            )
        app = _create_app(settings, replay_in_background=True)
        trio.run(runtime_of(app).open_journal)
    return app


def check_before_serving() -> None:
    """Check the settings and the journal as :func:`create_app` does, and
    close the journal again (for the worker to open): for hypercorn's own
    process, before it listens and starts its workers.

    Raises:
        SystemExit: with the one sentence saying what is wrong (status 1).
    """
    with _one_sentence():
        runtime = runtime_of(_create_app(_configure(), replay_in_background=True))
        trio.run(runtime.open_journal)
        trio.run(runtime.journal.aclose)


def _configure() -> Settings:
    """The logging and the settings the environment asks for.

    Raises:
        ConfigError: one of them is invalid.
    """
    log_format = os.environ.get("EVENTJOBS_LOG_FORMAT")
    if log_format is not None:
        try:
            logformat.configure(
                log_format,
                os.environ.get("EVENTJOBS_LOG_LEVEL", "info"),
                job_log=os.environ.get("EVENTJOBS_JOB_LOG", "").lower() in TRUE_WORDS,
            )
            logformat.hypercorn_lines_once()
        except ValueError as error:
            raise ConfigError(
                f"{error} (EVENTJOBS_LOG_FORMAT, EVENTJOBS_LOG_LEVEL)"
            ) from None
    return Settings.from_env()


@contextlib.contextmanager
def _one_sentence() -> Iterator[None]:
    """Turn what keeps eventjobs from serving into SystemExit with one
    sentence (Python prints it and exits 1)."""
    try:
        yield
    except JournalInUse as error:
        # Under ``hypercorn -w N`` every worker process calls the factory.
        raise SystemExit(
            f"eventjobs: {error}. With hypercorn, run one worker (-w 1) on a journal "
            "directory, or use a PostgreSQL journal, where every worker is a node"
        ) from None
    except (ConfigError, JournalCorrupt, JournalUnavailable) as error:
        raise SystemExit(f"eventjobs: {error}") from None
