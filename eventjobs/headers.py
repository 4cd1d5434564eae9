"""The request and response headers eventjobs adds to ArangoDB's protocol.

Pure rules, no I/O: header names, and how their values are read. A client
that sends none of these headers gets exactly the answers of the spec.

- ``x-eventjobs-timeout: SECONDS`` on a job submission: the longest the job
  may run (overrides ``--job-timeout``).
- ``x-eventjobs-wait: SECONDS`` on ``GET`` or ``PUT /_api/job/{id}``: hold the
  request until the job is done or the time is up (capped by ``--max-wait``).
- ``x-eventjobs-progress`` and ``x-eventjobs-state`` on a pending job's 204:
  its latest recorded progress and, while a stop is under way, ``cancelling``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, unquote

TIMEOUT_HEADER: Final = "x-eventjobs-timeout"
WAIT_HEADER: Final = "x-eventjobs-wait"
PROGRESS_HEADER: Final = "x-eventjobs-progress"
STATE_HEADER: Final = "x-eventjobs-state"

# What progress_value writes: a fraction, then the quoted, percent-encoded message.
_PROGRESS: Final = re.compile(r'\s*([0-9.eE+-]+)\s*;\s*message="([^"]*)"\s*')

# A plain decimal number: no signs, exponents, "inf" or "nan" (float() takes
# all of those, and none of them is a sensible number of seconds).
_SECONDS: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


class BadHeader(ValueError):
    """A header of ours has a value that is not valid; answered 400."""


def parse_seconds(value: str, *, allow_zero: bool) -> float:
    """Read a header value as a number of seconds.

    Raises:
        BadHeader: not a plain decimal number, not finite, or zero when
            *allow_zero* is false.
    """
    text = value.strip()
    if not _SECONDS.fullmatch(text):
        raise BadHeader(f"{value!r} is not a number of seconds")
    seconds = float(text)
    if not math.isfinite(seconds) or (seconds == 0 and not allow_zero):
        raise BadHeader(f"{value!r} is not a usable number of seconds")
    return seconds


def last_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of the last header called *name* (names compared lower-case)."""
    found = None
    for key, value in headers:
        if key.lower() == name:
            found = value
    return found


def job_timeout(headers: Iterable[tuple[str, str]], default: float) -> float | None:
    """A job's run-time limit: its ``x-eventjobs-timeout``, else *default*;
    None for no limit (a *default* of 0). A bad header value (refused at
    submission, so only found in a hand-edited journal) counts as absent."""
    raw = last_value(headers, TIMEOUT_HEADER)
    if raw is not None:
        try:
            return parse_seconds(raw, allow_zero=False)
        except BadHeader:
            pass
    return default if default > 0 else None


def progress_value(fraction: float, message: str) -> str:
    """The ``x-eventjobs-progress`` value: ``0.42; message="..."``.

    The message is percent-encoded (UTF-8), so any text fits in a header.
    """
    return f'{fraction:.4g}; message="{quote(message, safe=" ")}"'


def parse_progress(value: str) -> tuple[float, str] | None:
    """Read an ``x-eventjobs-progress`` value back (the inverse of
    :func:`progress_value`); None when it is not of that form, so a client
    shows no progress rather than failing on a server it does not know."""
    match = _PROGRESS.fullmatch(value)
    if match is None:
        return None
    try:
        fraction = float(match[1])
    except ValueError:
        return None
    if not 0 <= fraction <= 1:
        return None
    return fraction, unquote(match[2])
