"""hypercorn's settings for eventjobs, checked in hypercorn's own process::

    EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn --config python:eventjobs.hypercorn_config \
        --bind 127.0.0.1:8529 'eventjobs.asgi:create_app()'

hypercorn imports this module before it listens and starts its workers. On
import it checks the ``EVENTJOBS_*`` settings and the journal as the app
factory will (:func:`eventjobs.asgi.check_before_serving`): what is wrong
ends hypercorn with one sentence and exit status 1, where a failure in the
worker's factory alone would end it with status 0 (hypercorn 0.18 loses
its worker's exit status). What it sets, besides the checks: the trio
worker class, so that ``-k trio`` is not needed. Every name here that does
not start with ``__`` and is not a module is a hypercorn setting.
"""

import eventjobs.asgi

eventjobs.asgi.check_before_serving()

worker_class = "trio"
