"""One log line per job transition, on the ``eventjobs.jobs`` logger.

:func:`log_transition` is called by the runtime's journal writer observer:
it sees each event once durable, so the log tells exactly the story the
journal records (a failed append logs nothing of what it lost).
Lines are at INFO except progress reports (DEBUG: a job may report many);
each carries structured fields (``job_id``, ``event``, and where they apply
``status``, ``owner``, ``method``, ``path``, ``by``, ``reason``) for the
JSON log format (:mod:`.logformat`), and says the same in its message.

When INFO is off for the logger, an event costs one level check; on, a
line costs some 30-50 us of the event loop's time (record, format, write),
so ``eventjobs serve`` leaves it off unless ``--job-log`` is given
(docs/operations.md has the measurement).
"""

from __future__ import annotations

import logging

from ..events import (
    Event,
    JobCancelled,
    JobCancelling,
    JobDeleted,
    JobFetched,
    JobInterrupted,
    JobProgressed,
    JobQueued,
    JobRequeued,
    type_name,
)
from ..lifecycle import result_of

LOGGER_NAME = "eventjobs.jobs"
log = logging.getLogger(LOGGER_NAME)


def log_transition(event: Event) -> None:
    """Log *event*, durable just now (the runtime's writer observer calls it)."""
    level = logging.DEBUG if isinstance(event, JobProgressed) else logging.INFO
    if not log.isEnabledFor(level):
        return
    name = type_name(event)
    fields: dict[str, object] = {"job_id": event.job_id, "event": name}
    result = result_of(event)
    if result is not None:  # the job ended: its result's status comes first
        fields["status"] = result.status
    match event:
        case JobQueued():
            fields.update(
                owner=event.owner,
                method=event.request.method,
                path=event.request.path,
                store=event.store,
            )
            detail = f": {event.request.method} {event.request.path}" + (
                f" by {event.owner}" if event.owner is not None else ""
            )
            if not event.store:
                detail += " (fire-and-forget)"
        case JobCancelled() if event.by is not None:
            fields["by"] = event.by
            detail = f" by {event.by}"
        case JobInterrupted():
            fields["reason"] = event.reason
            detail = f" ({event.reason})"
        case JobFetched() | JobDeleted() | JobCancelling():
            detail = ""
            if event.by is not None:
                fields["by"] = event.by
                detail = f" by {event.by}"
            if isinstance(event, JobDeleted | JobCancelling):
                fields["reason"] = event.reason
                detail += f" ({event.reason})"
        case JobRequeued():
            fields["reason"] = event.reason
            detail = f": {event.reason}"
        case JobProgressed():
            fields.update(fraction=event.fraction, progress=event.message)
            detail = f": {event.fraction:.0%} {event.message}".rstrip()
        case _:
            detail = ""
    if result is not None:
        detail = f": status {result.status}{detail}"
    message = f"job {event.job_id} {name}{detail}"
    log.log(level, message, extra=fields)
