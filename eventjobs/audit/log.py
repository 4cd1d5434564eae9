"""``eventjobs journal log``: a filtered listing of events."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import type_name
from ..records import Recorded
from .filters import EventFilter
from .tables import iso, render
from .timeline import JobFacts, actor, detail

HEADER = ["SEQ", "TIME", "JOB", "EVENT", "BY", "DETAIL"]


def log_rows(
    records: Iterable[Recorded], chosen: EventFilter, facts: JobFacts
) -> list[list[str]]:
    """One row per record *chosen* keeps; *facts* follows every record (so a
    follower can carry it from one batch to the next)."""
    rows = []
    for record in records:
        event = record.event
        job = facts.observe(event)
        if chosen.matches(event, job):
            rows.append(
                [
                    str(record.seq),
                    iso(event.time),
                    str(event.job_id),
                    type_name(event),
                    actor(event, job),
                    detail(event, job),
                ]
            )
    return rows


def log(
    records: Iterable[Recorded], chosen: EventFilter, *, colour: bool = False
) -> str:
    """The listing as an aligned table (header only when nothing matches)."""
    return render(
        HEADER, log_rows(records, chosen, JobFacts()), colour=colour, colour_column=3
    )
