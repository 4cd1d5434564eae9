"""An app factory for the plain hypercorn command line::

    EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn -k trio 'eventjobs.asgi:create_app()'

Settings come from ``EVENTJOBS_*`` environment variables (see
:meth:`eventjobs.Settings.from_env`). Use one worker per journal directory:
the journal admits a single writing process.
"""

from __future__ import annotations

from quart_trio import QuartTrio

from .errors import ConfigError
from .http import create_app as _create_app
from .settings import Settings


def create_app() -> QuartTrio:
    """The eventjobs app configured from the environment.

    A bad setting ends the process with one sentence saying what is wrong.
    """
    try:
        return _create_app(Settings.from_env())
    except ConfigError as error:
        raise SystemExit(f"eventjobs: {error}") from None
