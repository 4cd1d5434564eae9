"""The recurring schedules of a server (``/_eventjobs/schedules``, docs/api.md)
as calls and values, for ``eventjobs schedule``.

Built on :class:`~eventjobs.client.api.JobAPI` (its connection, trace and
errors): :class:`~eventjobs.client.api.NotAuthorized` on 401/403,
:class:`~eventjobs.client.api.JobNotFound` for a schedule the caller has
not, :class:`~eventjobs.client.api.Refused` for any other answer the call
does not expect (the server's message quoted: a bad cron expression, an
unknown time zone...).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs

from .api import JobAPI, JobNotFound, Refused, error_message
from .connection import Answer

SCHEDULES = "/_eventjobs/schedules"


@attrs.frozen
class Recurring:
    """When a schedule fires: *cron* (in *timezone*) or every *every* seconds;
    what it does about firings missed while no server ran (*catch_up*)."""

    cron: str | None = None
    every: float | None = None
    timezone: str | None = None
    catch_up: str | None = None


@attrs.frozen
class Schedule:
    """A schedule as the server shows it."""

    schedule_id: int
    owner: str | None
    cron: str | None
    every: float | None
    timezone: str | None
    catch_up: str
    method: str
    path: str
    query: str
    next_firing: float | None
    last_fired: float | None


class ScheduleAPI(JobAPI):
    """The schedules of the server behind the connection."""

    def add(
        self,
        recurring: Recurring,
        method: str,
        target: str,
        body: str,
        headers: Iterable[tuple[str, str]],
    ) -> int:
        """Add a schedule that submits ``method target`` (with its query
        string) with *body* and *headers*; its id.

        Raises:
            Refused: not accepted (the server says why).
        """
        path, _, query = target.partition("?")
        request: dict[str, Any] = {"method": method, "path": path, "body": body}
        if query:
            request["query"] = query
        header_map = dict(headers)
        if header_map:
            request["headers"] = header_map
        document: dict[str, Any] = {"request": request}
        for name in ("cron", "every", "timezone", "catch_up"):
            value = getattr(recurring, name)
            if value is not None:
                document[name] = value
        answer = self._call(
            "POST",
            SCHEDULES,
            body=json.dumps(document).encode(),
            headers=[("content-type", "application/json")],
        )
        if answer.status != 201:
            raise Refused(
                f"the schedule was not added: {answer.status_line}, "
                f"{error_message(answer)}",
                answer,
            )
        return _schedule(_json(answer, "POST", SCHEDULES), answer).schedule_id

    def schedules(self) -> list[Schedule]:
        """The caller's schedules (a superuser's: everyone's), by id."""
        answer = self._call("GET", SCHEDULES)
        document = _json(answer, "GET", SCHEDULES)
        rows = document.get("schedules") if answer.status == 200 else None
        if not isinstance(rows, list):
            raise Refused(
                f"GET {SCHEDULES} did not answer a list of schedules: "
                f"{answer.status_line}, {error_message(answer)}",
                answer,
            )
        return [_schedule(row, answer) for row in rows]

    def remove(self, schedule_id: int) -> None:
        """Remove the caller's schedule: it fires no more (its jobs stay).

        Raises:
            JobNotFound: the caller has no schedule *schedule_id*.
        """
        answer = self._call("DELETE", f"{SCHEDULES}/{schedule_id}")
        if answer.status == 404:
            raise JobNotFound(
                f"no schedule {schedule_id}: unknown, removed, or not yours", answer
            )
        if answer.status != 200:
            raise Refused(
                f"the server answered {answer.status_line}: {error_message(answer)}",
                answer,
            )


def _json(answer: Answer, method: str, target: str) -> dict[str, Any]:
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Refused(
            f"{method} {target} did not answer a JSON object: {answer.status_line}, "
            f"{error_message(answer)}",
            answer,
        )
    return document


def _schedule(row: Any, answer: Answer) -> Schedule:
    try:
        request = row["request"]
        return Schedule(
            schedule_id=int(row["id"]),
            owner=row.get("owner"),
            cron=row.get("cron"),
            every=row.get("every"),
            timezone=row.get("timezone"),
            catch_up=str(row.get("catch_up")),
            method=str(request["method"]),
            path=str(request["path"]),
            query=str(request.get("query") or ""),
            next_firing=row.get("next_firing"),
            last_fired=row.get("last_fired"),
        )
    except (TypeError, KeyError, ValueError) as problem:
        raise Refused(
            f"the server's schedule {str(row)[:80]} is not one eventjobs shows "
            f"({problem!r} missing or wrong)",
            answer,
        ) from None
