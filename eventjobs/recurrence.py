"""Recurring schedules: reading a schedule's document, and when it fires.

Pure: no clock (times are passed in), no I/O beyond the time-zone database
that :mod:`zoneinfo` reads. Cron expressions are read by ``cronsim`` (the
standard five fields, with its ``L``, ``W`` and ``#`` extensions); this
module only says what a schedule's document may hold and turns a schedule
into firing times.

A schedule fires either on a cron expression, read in an IANA time zone
(UTC by default; daylight-saving jumps are cronsim's to handle), or every
N seconds, the first firing one interval after the schedule was added.
Which firings missed while no server ran are made up is its ``catch_up``:
``latest`` (the last one only, the default), ``all`` or ``none``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from cronsim import CronSim, CronSimError

CATCH_UP_MODES: Final = ("latest", "all", "none")
DEFAULT_CATCH_UP: Final = "latest"
#: The shortest and longest interval of an ``every`` schedule, in seconds.
MIN_EVERY: Final = 1.0
MAX_EVERY: Final = 366 * 86400.0
#: The longest cron expression or time-zone name read (a bound on the work).
MAX_TEXT: Final = 256

_FIELDS: Final = frozenset({"cron", "every", "timezone", "catch_up", "request"})
_REQUEST_FIELDS: Final = frozenset({"method", "path", "query", "headers", "body"})


class BadSchedule(ValueError):
    """A schedule's document is not valid; the message says which field and
    how to fix it."""


@attrs.frozen(kw_only=True)
class Recurrence:
    """When a schedule fires: exactly one of *cron* and *every*."""

    cron: str | None = None
    every: float | None = None
    timezone: str | None = None
    catch_up: str = DEFAULT_CATCH_UP

    def firings(
        self, origin: float, after: float, until: float, limit: int
    ) -> list[float]:
        """Up to *limit* firing times in ``(after, until]``, ascending (unix
        seconds). *origin* is when the schedule was added (the base of an
        ``every`` schedule)."""
        times: list[float] = []
        if until <= after or limit <= 0:
            return times
        if self.every is not None:
            # origin + k * every for k >= 1: recomputed from k each time, so
            # every node gets the very same floats for the same schedule.
            k = max(1, math.floor((after - origin) / self.every) + 1)
            while len(times) < limit:
                at = origin + k * self.every
                if at > until:
                    break
                if at > after:
                    times.append(at)
                k += 1
            return times
        assert self.cron is not None
        zone = zone_of(self.timezone)
        start = datetime.fromtimestamp(after, zone)
        for moment in CronSim(self.cron, start):
            at = moment.timestamp()
            if at > until:
                break
            if at > after:
                times.append(at)
                if len(times) == limit:
                    break
        return times


@attrs.frozen(kw_only=True)
class RequestParts:
    """The request a schedule submits at each firing, as its document said."""

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def zone_of(name: str | None) -> tzinfo:
    """The time zone *name* (an IANA name), UTC for None.

    Raises:
        BadSchedule: no such time zone.
    """
    if name is None or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(
            f"timezone {name[:60]!r} is not a known IANA time zone "
            "(for example 'UTC' or 'Europe/Berlin')"
        ) from None


def check_recurrence(
    cron: str | None, every: float | None, timezone: str | None, catch_up: str
) -> Recurrence:
    """A :class:`Recurrence`, checked.

    Raises:
        BadSchedule: not exactly one of cron and every, a cron expression
            cronsim cannot read, an interval out of range, an unknown time
            zone or catch-up mode.
    """
    if (cron is None) == (every is None):
        raise BadSchedule(
            'give exactly one of "cron" (an expression) and "every" (seconds)'
        )
    if catch_up not in CATCH_UP_MODES:
        raise BadSchedule(
            f"catch_up {catch_up[:40]!r} is not one of {', '.join(CATCH_UP_MODES)}"
        )
    if timezone is not None:
        if len(timezone) > MAX_TEXT:
            raise BadSchedule(f"timezone is {MAX_TEXT} characters at most")
        zone_of(timezone)
    if cron is not None:
        if len(cron) > MAX_TEXT:
            raise BadSchedule(f"cron is {MAX_TEXT} characters at most")
        try:
            CronSim(cron, datetime.now(UTC))
        except CronSimError as error:
            raise BadSchedule(
                f"cron {cron[:60]!r} is not a cron expression ({error}); five fields: "
                "minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'"
            ) from None
    if every is not None:
        if timezone is not None:
            raise BadSchedule('"timezone" applies to "cron" only, not to "every"')
        if not (math.isfinite(every) and MIN_EVERY <= every <= MAX_EVERY):
            raise BadSchedule(
                f"every must be a number of seconds from {MIN_EVERY:g} to {MAX_EVERY:g}, "
                f"not {every!r}"
            )
    return Recurrence(cron=cron, every=every, timezone=timezone, catch_up=catch_up)


def parse_schedule(data: Any) -> tuple[Recurrence, RequestParts]:
    """A schedule's JSON document (``POST /_eventjobs/schedules``, ``eventjobs
    schedule add``), checked: ``{"cron" | "every", "timezone"?, "catch_up"?,
    "request": {"method", "path", "query"?, "headers"?, "body"?}}``.

    Raises:
        BadSchedule: naming the field and what it should be.
    """
    if not isinstance(data, dict):
        raise BadSchedule("the body must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise BadSchedule(
            f"unknown field {unknown[0][:40]!r} (known: {', '.join(sorted(_FIELDS))})"
        )
    cron = _optional(data, "cron", str, "a cron expression")
    every_value = data.get("every")
    every: float | None = None
    if every_value is not None:
        if isinstance(every_value, bool) or not isinstance(every_value, int | float):
            raise BadSchedule("every must be a number of seconds")
        every = float(every_value)
    timezone = _optional(data, "timezone", str, "an IANA time-zone name")
    catch_up = _optional(data, "catch_up", str, "latest, all or none")
    recurrence = check_recurrence(cron, every, timezone, catch_up or DEFAULT_CATCH_UP)
    return recurrence, _request(data.get("request"))


def _request(data: Any) -> RequestParts:
    if not isinstance(data, dict):
        raise BadSchedule(
            'request must be an object: {"method", "path", "query", "headers", "body"}'
        )
    unknown = sorted(set(data) - _REQUEST_FIELDS)
    if unknown:
        raise BadSchedule(
            f"unknown field request.{unknown[0][:40]} "
            f"(known: {', '.join(sorted(_REQUEST_FIELDS))})"
        )
    method = _optional(data, "method", str, "an HTTP method")
    if not method or not method.isascii() or not method.isalpha():
        raise BadSchedule("request.method must be an HTTP method, e.g. 'POST'")
    path = _optional(data, "path", str, "a path")
    if not path or not path.startswith("/") or len(path) > 8192:
        raise BadSchedule("request.path must be a path starting with '/'")
    query = _optional(data, "query", str, "a query string without '?'") or ""
    query = query.removeprefix("?")
    raw_headers = data.get("headers") or {}
    if not isinstance(raw_headers, Mapping) or not all(
        isinstance(value, str) for value in raw_headers.values()
    ):
        raise BadSchedule("request.headers must be an object of strings")
    headers = tuple((str(name).lower(), value) for name, value in raw_headers.items())
    body = _optional(data, "body", str, "a string (sent as UTF-8)") or ""
    return RequestParts(
        method=method.upper(),
        path=path,
        query=query,
        headers=headers,
        body=body.encode("utf-8", "surrogatepass"),
    )


def _optional(data: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadSchedule(f"{name} must be {what}, not {type(value).__name__}")
    return value
