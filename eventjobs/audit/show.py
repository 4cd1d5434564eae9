"""``eventjobs journal show``: one job's life, from the journal alone."""

from __future__ import annotations

from collections.abc import Iterable

from ..codec import encode_body
from ..events import JobQueued, type_name
from ..lifecycle import result_of
from ..records import Recorded
from .tables import duration, iso, render, who
from .timeline import JobFacts, JobInfo, actor, detail


class UnknownJob(Exception):
    """The journal holds no record of the job."""


def show(
    records: Iterable[Recorded],
    job_id: int,
    *,
    bodies: bool = False,
    colour: bool = False,
) -> str:
    """The timeline of job *job_id* as text: a header, one row per event
    (sequence number, time, type, who, detail), queue wait and run time,
    and with *bodies* the stored request and response bodies.

    Raises:
        UnknownJob: no record of *job_id*.
    """
    facts = JobFacts()
    rows: list[list[str]] = []
    stored: list[tuple[str, bytes]] = []
    job: JobInfo | None = None
    for record in records:
        event = record.event
        if event.job_id != job_id:
            continue
        job = facts.observe(event)
        rows.append(
            [
                str(record.seq),
                iso(event.time),
                type_name(event),
                actor(event, job),
                detail(event, job),
            ]
        )
        result = result_of(event)
        if isinstance(event, JobQueued):
            stored.append(("request body", event.request.body))
        elif result is not None:  # the job ended: its result
            stored.append((f"{type_name(event)} response body", result.body))
    if job is None:
        raise UnknownJob(f"the journal has no record of job {job_id}")
    mode = "" if job.store else ", fire-and-forget"
    out = [
        f"job {job_id}: {job.request_line}, owner {who(job.owner)}{mode}, now {job.state}\n"
    ]
    out.append(
        render(
            ["SEQ", "TIME", "EVENT", "BY", "DETAIL"],
            rows,
            colour=colour,
            colour_column=2,
        )
    )
    out.append(
        f"queue wait {duration(job.queue_wait)}, run time {duration(job.run_time)}\n"
    )
    if bodies:
        for label, body in stored:
            encoded = encode_body(body)
            out.append(
                f"--- {label} ({len(body)} B, {encoded['encoding']}) ---\n{encoded['data']}\n"
            )
    return "".join(out)
