"""Which events ``eventjobs journal log`` lists. Pure."""

from __future__ import annotations

import fnmatch

import attrs

from ..events import EVENT_TYPES, Event, type_name
from .timeline import JobInfo, actor


@attrs.frozen(kw_only=True)
class EventFilter:
    """All given conditions must hold (an unset one always does).

    - ``since`` / ``until``: the event's time is in ``[since, until]``;
    - ``user``: the user caused the event, or owns its job;
    - ``type``: the event's type name;
    - ``path``: a shell pattern (``fnmatch``) matching the job's request
      path; jobs queued before a pruned journal's start have no known path
      and never match.
    """

    since: float | None = None
    until: float | None = None
    user: str | None = None
    type: str | None = None
    path: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.type is not None and self.type not in EVENT_TYPES:
            known = ", ".join(EVENT_TYPES)
            raise ValueError(f"{self.type!r} is not an event type (one of: {known})")

    def matches(self, event: Event, job: JobInfo) -> bool:
        if self.since is not None and event.time < self.since:
            return False
        if self.until is not None and event.time > self.until:
            return False
        if self.type is not None and type_name(event) != self.type:
            return False
        if self.user is not None and self.user not in (job.owner, actor(event, job)):
            return False
        if self.path is not None and (
            job.path == "?" or not fnmatch.fnmatchcase(job.path, self.path)
        ):
            return False
        return True
