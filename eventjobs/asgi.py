"""An app factory for the plain hypercorn command line::

    EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn -k trio 'eventjobs.asgi:create_app()'

Settings come from ``EVENTJOBS_*`` environment variables (see
:meth:`eventjobs.Settings.from_env`); ``EVENTJOBS_JOURNAL`` is a directory or a
``postgresql://`` URL. Use one worker (``-w 1``, the default): a journal
admits a single writing process, and a second worker is refused with a
message saying so (docs/deployment.md).
"""

from __future__ import annotations

import trio
from quart_trio import QuartTrio

from .errors import ConfigError, JournalCorrupt, JournalInUse, JournalUnavailable
from .http import create_app as _create_app
from .http import runtime_of
from .settings import Settings


def create_app() -> QuartTrio:
    """The eventjobs app configured from the environment, its journal replayed.

    hypercorn calls this before it starts its event loop, so the journal is
    opened and replayed here, in a short trio run of its own: a bad setting,
    an unusable or damaged journal end the process with one sentence saying
    what is wrong, instead of a failed ASGI lifespan.
    """
    try:
        app = _create_app(Settings.from_env())
        trio.run(runtime_of(app).open)
    except JournalInUse as error:
        # Under ``hypercorn -w N`` every worker process calls this factory.
        raise SystemExit(
            f"eventjobs: {error}. With hypercorn, run one worker (-w 1): each worker "
            "process would write the journal"
        ) from None
    except (ConfigError, JournalCorrupt, JournalUnavailable) as error:
        raise SystemExit(f"eventjobs: {error}") from None
    return app
