"""The request and response headers eventjobs adds to ArangoDB's protocol.

Pure rules, no I/O: header names, and how their values are read. A client
that sends none of these headers gets exactly the answers of the spec.

- ``x-eventjobs-timeout: SECONDS`` on a job submission: the longest the job
  may run (overrides ``--job-timeout``).
- ``x-eventjobs-wait: SECONDS`` on ``GET`` or ``PUT /_api/job/{id}``: hold the
  request until the job is done or the time is up (capped by ``--max-wait``).
- ``x-eventjobs-progress`` and ``x-eventjobs-state`` on a pending job's 204:
  its latest recorded progress and, while a stop is under way, ``cancelling``.
- ``Idempotency-Key: KEY`` on a submission: the same owner sending the same
  key again (within ``--idempotency-window``) gets the first job back.
- ``x-eventjobs-delay: SECONDS`` or ``x-eventjobs-not-before: TIME`` on a
  submission: the job does not start before then.
- ``x-eventjobs-priority: N`` on a submission: -10 to 10, higher starts first.
- ``x-eventjobs-concurrency-key: KEY`` on a submission: at most
  ``--key-concurrency`` jobs of the same owner and key run at once.
- ``x-eventjobs-retries: N`` (0-20) and ``x-eventjobs-retry-delay: SECONDS``
  on a submission: a failed attempt runs again (:mod:`eventjobs.retries`);
  ``x-eventjobs-attempt: K`` on the 204 of a job past its first attempt.

And two of standard HTTP:

- ``Prefer: wait=N`` (RFC 7240) on ``GET`` or ``PUT /_api/job/{id}``: what
  ``x-eventjobs-wait: N`` does; the answer says ``Preference-Applied: wait=N``.
- ``Retry-After: SECONDS`` on every 503 the server answers itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final
from urllib.parse import quote, unquote

TIMEOUT_HEADER: Final = "x-eventjobs-timeout"
WAIT_HEADER: Final = "x-eventjobs-wait"
PROGRESS_HEADER: Final = "x-eventjobs-progress"
STATE_HEADER: Final = "x-eventjobs-state"
IDEMPOTENCY_HEADER: Final = "idempotency-key"
DELAY_HEADER: Final = "x-eventjobs-delay"
NOT_BEFORE_HEADER: Final = "x-eventjobs-not-before"
PRIORITY_HEADER: Final = "x-eventjobs-priority"
CONCURRENCY_KEY_HEADER: Final = "x-eventjobs-concurrency-key"
RETRIES_HEADER: Final = "x-eventjobs-retries"
RETRY_DELAY_HEADER: Final = "x-eventjobs-retry-delay"
ATTEMPT_HEADER: Final = "x-eventjobs-attempt"
PREFER_HEADER: Final = "prefer"
PREFERENCE_APPLIED_HEADER: Final = "preference-applied"
RETRY_AFTER_HEADER: Final = "retry-after"

#: The ``Retry-After`` of a 503 that a moment's wait may cure (queue full,
#: the journal not writable, the replay still running): a client told to
#: come back in a second does not hammer the server, and the writer's own
#: retries of a failing journal are about as frequent.
BUSY_RETRY_AFTER: Final = 1

#: The range of a job's priority (``x-eventjobs-priority``).
MIN_PRIORITY: Final = -10
MAX_PRIORITY: Final = 10
#: The longest ``Idempotency-Key`` accepted, in bytes.
MAX_IDEMPOTENCY_KEY: Final = 255

# RFC 3339's date-time (section 5.6), which datetime.fromisoformat then reads;
# fromisoformat alone takes more (no offset, week dates, ...).
_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_PRIORITY: Final = re.compile(r"[+-]?[0-9]{1,3}")

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


def is_visible_ascii(text: str) -> bool:
    """Whether *text* is only visible ASCII characters (``!`` to ``~``)."""
    return all("!" <= char <= "~" for char in text)


def parse_idempotency_key(value: str) -> str:
    """Read an ``Idempotency-Key`` value: 1 to 255 visible ASCII characters.

    Raises:
        BadHeader: empty, too long, or with other characters (spaces included).
    """
    if not value:
        raise BadHeader(
            "Idempotency-Key is empty: send 1 to 255 visible ASCII characters"
        )
    if len(value.encode("latin-1", "replace")) > MAX_IDEMPOTENCY_KEY:
        raise BadHeader(
            f"Idempotency-Key is {len(value)} bytes long: at most "
            f"{MAX_IDEMPOTENCY_KEY} are accepted"
        )
    if not is_visible_ascii(value):
        raise BadHeader(
            "Idempotency-Key holds characters outside visible ASCII (! to ~, no spaces)"
        )
    return value


def parse_concurrency_key(value: str) -> str:
    """Read an ``x-eventjobs-concurrency-key`` value: 1 to 255 visible ASCII
    characters (the rule of ``Idempotency-Key``).

    Raises:
        BadHeader: empty, too long, or with other characters (spaces included).
    """
    if not value or len(value.encode("latin-1", "replace")) > MAX_IDEMPOTENCY_KEY:
        raise BadHeader(
            f"{CONCURRENCY_KEY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY} bytes long, "
            f"not {len(value)}"
        )
    if not is_visible_ascii(value):
        raise BadHeader(
            f"{CONCURRENCY_KEY_HEADER} holds characters outside visible ASCII "
            "(! to ~, no spaces)"
        )
    return value


def parse_retries(value: str, most: int) -> int:
    """Read an ``x-eventjobs-retries`` value: an integer from 0 to *most*.

    Raises:
        BadHeader: not an integer, or outside the range.
    """
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > most:
        raise BadHeader(
            f"{RETRIES_HEADER}: {value[:40]!r} is not an integer from 0 to {most}"
        )
    return int(text)


def parse_not_before(value: str) -> float:
    """Read an ``x-eventjobs-not-before`` value: unix seconds, or an RFC 3339
    date-time with its offset (``2026-12-06T20:00:00Z``); unix seconds back.

    Raises:
        BadHeader: neither.
    """
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return parse_seconds(text, allow_zero=True)
    if _RFC3339.fullmatch(text):
        try:
            return datetime.fromisoformat(text.upper()).timestamp()
        except ValueError:
            pass  # a date or time out of range: said below
    raise BadHeader(
        f"{NOT_BEFORE_HEADER}: {value[:60]!r} is neither unix seconds nor an RFC 3339 "
        "time such as 2026-12-06T20:00:00Z"
    )


def parse_priority(value: str) -> int:
    """Read an ``x-eventjobs-priority`` value: an integer from -10 to 10.

    Raises:
        BadHeader: not an integer, or outside the range.
    """
    text = value.strip()
    if not _PRIORITY.fullmatch(text) or not (MIN_PRIORITY <= int(text) <= MAX_PRIORITY):
        raise BadHeader(
            f"{PRIORITY_HEADER}: {value[:40]!r} is not an integer from "
            f"{MIN_PRIORITY} to {MAX_PRIORITY}"
        )
    return int(text)


# RFC 7240's ``wait`` preference: ``wait=10``, ``wait = "10"``, in any case.
_PREFER_WAIT: Final = re.compile(
    r'\s*wait\s*=\s*(?:"([0-9]+)"|([0-9]+))\s*', re.IGNORECASE
)


def prefer_wait(values: Iterable[str]) -> int | None:
    """The seconds of the first ``wait`` preference in the ``Prefer`` header
    *values* (RFC 7240: a preference given twice counts the first time);
    None when there is none, or it is not a number of seconds (a
    preference a server does not understand is ignored, never an error)."""
    for value in values:
        for preference in value.split(","):
            name = preference.split("=", 1)[0].strip().lower()
            if name != "wait":
                continue
            match = _PREFER_WAIT.fullmatch(preference.split(";", 1)[0])
            if match is None:
                return None
            return int(match[1] or match[2])
    return None


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
