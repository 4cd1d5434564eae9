"""Hypothesis strategies for eventjobs' events.

Values are as wide as the event classes allow (any ``str``, lone surrogates
included; any ``bytes``; any finite time), not only what the HTTP layer
produces, so that the codec and the journals are tested on the whole domain.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from eventjobs.events import (
    EVENT_TYPES,
    JobCancelled,
    JobCancelling,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobProgressed,
    JobQueued,
    JobRequeued,
    JobRetrying,
    JobStarted,
    JobTimedOut,
    RecordedRequest,
    RecordedResponse,
    ScheduleAdded,
    ScheduleRemoved,
)

#: Job ids are positive 64-bit integers (spec 2).
job_ids = st.integers(min_value=1, max_value=2**63 - 1)

#: Wall-clock unix seconds; events never carry NaN or infinities.
times = st.floats(allow_nan=False, allow_infinity=False)

#: Any text at all, lone surrogates included (``st.text()`` leaves them out).
any_text = st.text(st.characters(exclude_categories=()))

owners = st.none() | any_text

headers = st.lists(st.tuples(any_text, any_text), max_size=4).map(tuple)

#: Bodies: arbitrary bytes (mostly not UTF-8) and text that is UTF-8.
bodies = st.binary(max_size=64) | any_text.map(
    lambda text: text.encode("utf-8", errors="surrogatepass")
)

statuses = st.integers(min_value=100, max_value=599)

requests = st.builds(
    RecordedRequest,
    method=any_text,
    path=any_text,
    query_string=any_text,
    headers=headers,
    body=bodies,
    client=st.none() | any_text,
)

responses = st.builds(RecordedResponse, status=statuses, headers=headers, body=bodies)


def _fired(queued: JobQueued, firing: tuple[int, float] | None) -> JobQueued:
    """*queued* as a schedule's firing (both fields), or as it is."""
    if firing is None:
        return queued
    schedule, at = firing
    return attrs.evolve(queued, schedule=schedule, schedule_time=at)


# (Not a flatmap: a strategy made per draw is validated per draw, which made
# the history properties several times slower.)
queued_events = st.builds(
    _fired,
    st.builds(
        JobQueued,
        job_id=job_ids,
        time=times,
        owner=owners,
        store=st.booleans(),
        request=requests,
        # What a client may ask of its job (absent from most submissions).
        idempotency_key=st.none()
        | st.text(
            st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=255
        ),
        not_before=st.none() | times,
        priority=st.just(0) | st.integers(min_value=-10, max_value=10),
        concurrency_key=st.none()
        | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1),
    ),
    st.none() | st.tuples(job_ids, times),
)
started_events = st.builds(JobStarted, job_id=job_ids, time=times)
done_events = st.builds(JobDone, job_id=job_ids, time=times, response=responses)
cancelled_events = st.builds(
    JobCancelled, job_id=job_ids, time=times, by=owners, response=responses
)
interrupted_events = st.builds(
    JobInterrupted, job_id=job_ids, time=times, reason=any_text, response=responses
)
requeued_events = st.builds(JobRequeued, job_id=job_ids, time=times, reason=any_text)
retrying_events = st.builds(
    JobRetrying,
    job_id=job_ids,
    time=times,
    attempt=st.integers(min_value=1, max_value=21),
    reason=any_text,
    status=st.integers(min_value=500, max_value=599),
    not_before=times,
)
fetched_events = st.builds(JobFetched, job_id=job_ids, time=times, by=owners)
deleted_events = st.builds(
    JobDeleted, job_id=job_ids, time=times, by=owners, reason=any_text
)
progress_events = st.builds(
    JobProgressed,
    job_id=job_ids,
    time=times,
    fraction=st.floats(min_value=0.0, max_value=1.0),
    message=any_text,
)
cancelling_events = st.builds(
    JobCancelling, job_id=job_ids, time=times, by=owners, reason=any_text
)
timed_out_events = st.builds(
    JobTimedOut,
    job_id=job_ids,
    time=times,
    timeout=st.floats(min_value=0.0, allow_infinity=False),
    response=responses,
)

schedule_added_events = st.builds(
    ScheduleAdded,
    job_id=job_ids,
    time=times,
    owner=owners,
    request=requests,
    cron=st.none() | any_text,
    every=st.none() | times,
    timezone=st.none() | any_text,
    catch_up=any_text,
)
schedule_removed_events = st.builds(
    ScheduleRemoved, job_id=job_ids, time=times, by=owners
)

#: One strategy per registered type name; a new event type without a
#: strategy here fails ``test_every_event_type_has_a_strategy``.
EVENTS_BY_TYPE = {
    "queued": queued_events,
    "started": started_events,
    "done": done_events,
    "cancelled": cancelled_events,
    "interrupted": interrupted_events,
    "requeued": requeued_events,
    "retrying": retrying_events,
    "fetched": fetched_events,
    "deleted": deleted_events,
    "progress": progress_events,
    "cancelling": cancelling_events,
    "timed_out": timed_out_events,
    "schedule_added": schedule_added_events,
    "schedule_removed": schedule_removed_events,
}

events = st.one_of(*EVENTS_BY_TYPE.values())

assert set(EVENTS_BY_TYPE) <= set(EVENT_TYPES)
