"""Times on the command line: ISO 8601 or unix seconds. Pure."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from .numbers import shown


def parse_time(text: str) -> float:
    """Unix seconds for *text*: ``1764417600``, ``1764417600.5`` or ISO 8601
    (``2026-11-29T12:00:00Z``; without a zone, UTC is meant).

    Raises:
        ValueError: saying which forms are accepted.
    """
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return seconds
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{shown(text)} is not a time: give unix seconds (1764417600) or ISO 8601 "
            "(2026-11-29T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
