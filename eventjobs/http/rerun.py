"""Declaring a route safe to run again after a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

View = TypeVar("View", bound=Callable[..., object])

_ATTRIBUTE = "eventjobs_rerun_safe"


def rerun_safe(view: View) -> View:
    """Mark a view function as safe to run again from the start.

    When the server stops abruptly (a crash, ``kill -9``) while a job of this
    route runs, the next start queues the job again instead of storing the
    503 "job interrupted" result. Use it only for handlers whose effects are
    idempotent (a report, a read, an upsert keyed by the request): the job may
    then run more than once. Put it below the route decorator::

        @app.route("/reports", methods=["POST"])
        @rerun_safe
        async def make_report(): ...

    Jobs interrupted by a graceful shutdown are recorded ``interrupted`` all
    the same: the server chose to stop them, with a deadline the operator set.
    """
    setattr(view, _ATTRIBUTE, True)
    return view


def is_rerun_safe(view: object) -> bool:
    return bool(getattr(view, _ATTRIBUTE, False))
