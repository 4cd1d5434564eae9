"""Snapshots: the job table as JSON-ready values and back. Pure.

A snapshot is the table as it was at one journal position, so that a start
replays only the records after it. It holds every job the table holds (live
jobs: pending, or finished and not yet fetched or deleted), so its size
follows the live set, not the history.

It is a *header* and a stream of *jobs*, one JSON-ready dict each, so that
a journal can write it and a start can read it a job at a time: a snapshot
of a million stored results never has to be one document in memory.

- header: ``{"v": 2, "position": P, "last_job_id": N}``, plus, when any
  submission sent an ``Idempotency-Key``, ``"keys"``: one
  ``[owner, key, job, time, store, digest]`` per key (digest in hex); and,
  when the table holds recurring schedules, ``"schedules"``: one object per
  schedule (``id``, ``owner``, ``created``, ``request``, ``cron``,
  ``every``, ``timezone``, ``catch_up``, ``last_fired``), with ``"v": 3``
  so that a version that knows no schedules refuses the snapshot rather
  than drop them;
- a pending job: every field of :class:`~eventjobs.projection.JobView`
  (``job``, ``owner``, ``store``, ``method``, ``path``, ``created``,
  ``phase``, ``visible``, ``request``, ``started``, ``finished``, ``status``,
  ``response``, ``result_at``, ``progress``, ``cancelling``, and, when not
  the defaults, ``priority``, ``not_before``, ``concurrency_key`` and
  ``attempt`` / ``retries`` / ``retry_delay``);
- a finished job, compact: ``job``, ``owner``, ``method``, ``path``,
  ``created``, ``started``, ``finished``, ``status``, and either
  ``result_at`` (where the journal keeps the result) or ``response`` (the
  result itself, while it is in memory).

Version 1 (one document: the header's fields plus ``"jobs": [...]``, every
job in the pending shape) still reads: the decoder takes either job shape.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .codec import (
    decode_owner,
    decode_request,
    decode_response,
    decode_time,
    encode_request,
    encode_response,
    require_field,
)
from .errors import CodecError
from .events import RecordedResponse
from .lifecycle import Phase
from .projection import FinishedJob, JobTable, JobView, KeyUse, ScheduleView, View

#: Shape version of the snapshot header; bump it (and read the old one) on change.
VERSION = 2
#: The header's version when it holds schedules.
VERSION_WITH_SCHEDULES = 3
#: The versions :func:`decode_table` reads.
READS = (1, 2, 3)


def encode_snapshot(table: JobTable) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """*table* as ``(header, jobs)`` for :meth:`Journal.save_snapshot`.

    The jobs are encoded lazily from a copy of the table's views taken now
    (a list: 8 bytes a job), so the table may move on meanwhile; views are
    immutable, so the copy stays consistent.
    """
    return encode_header(table), encode_jobs(list(table.jobs.values()))


def encode_header(table: JobTable) -> dict[str, Any]:
    """The snapshot header of *table*: what it holds besides its jobs."""
    header: dict[str, Any] = {
        "v": VERSION,
        "position": table.position,
        "last_job_id": table.last_job_id,
    }
    if table.keys:
        header["keys"] = [
            [owner, key, use.job_id, use.time, use.store, use.digest.hex()]
            for (owner, key), use in table.keys.items()
        ]
    if table.schedules:
        header["v"] = VERSION_WITH_SCHEDULES
        header["schedules"] = [
            _encode_schedule(schedule) for schedule in table.schedules.values()
        ]
    return header


def _encode_schedule(schedule: ScheduleView) -> dict[str, Any]:
    return {
        "id": schedule.schedule_id,
        "owner": schedule.owner,
        "created": schedule.created,
        "request": encode_request(schedule.request),
        "cron": schedule.cron,
        "every": schedule.every,
        "timezone": schedule.timezone,
        "catch_up": schedule.catch_up,
        "last_fired": schedule.last_fired,
    }


def _decode_schedules(header: Mapping[str, Any], where: str) -> dict[int, ScheduleView]:
    """The header's ``schedules`` (absent in snapshots without any)."""
    schedules: dict[int, ScheduleView] = {}
    raw = header.get("schedules", [])
    if not isinstance(raw, list):
        raise CodecError(f"{where}: schedules is not a list")
    for number, entry in enumerate(raw, start=1):
        at = f"{where}, schedule entry {number}"
        if not isinstance(entry, dict):
            raise CodecError(f"{at}: not an object")
        schedule_id = require_field(entry, "id", int, at)
        every = require_field(entry, "every", (int, float, type(None)), at)
        schedules[schedule_id] = ScheduleView(
            schedule_id=schedule_id,
            owner=decode_owner(entry, "owner", at),
            created=decode_time(require_field(entry, "created", (int, float), at), at),
            request=decode_request(require_field(entry, "request", dict, at)),
            cron=require_field(entry, "cron", (str, type(None)), at),
            every=None if every is None else float(every),
            timezone=require_field(entry, "timezone", (str, type(None)), at),
            catch_up=require_field(entry, "catch_up", str, at),
            last_fired=_optional_time(entry, "last_fired", at),
        )
    return schedules


def encode_jobs(jobs: Iterable[View]) -> Iterator[dict[str, Any]]:
    """Each of *jobs* as a snapshot entry, lazily (so a journal can encode
    them as it writes, in whatever thread it writes from)."""
    for job in jobs:
        yield encode_job(job)


def encode_job(job: View) -> dict[str, Any]:
    """One job as a snapshot entry: compact when finished (see the module)."""
    if isinstance(job, FinishedJob):
        entry: dict[str, Any] = {
            "job": job.job_id,
            "owner": job.owner,
            "method": job.method,
            "path": job.path,
            "created": job.created,
            "started": job.started,
            "finished": job.finished,
            "status": job.status,
        }
        result = job.result
        if isinstance(result, int):
            entry["result_at"] = result
        else:
            entry["response"] = encode_response(result)
        return entry
    return _encode_full(job)


def encode_table(table: JobTable) -> dict[str, Any]:
    """The whole table as one document: the header plus ``"jobs"``, every job
    with every field (the pending shape). For ``eventjobs journal replay
    --json`` and tests; snapshots are written with :func:`encode_jobs`."""
    return {
        **encode_header(table),
        "jobs": [_encode_full(job) for job in table.jobs.values()],
    }


def _encode_full(job: View) -> dict[str, Any]:
    return {
        "job": job.job_id,
        "owner": job.owner,
        "store": job.store,
        "method": job.method,
        "path": job.path,
        "created": job.created,
        "phase": job.phase.value,
        "visible": job.visible,
        "request": encode_request(job.request) if job.request is not None else None,
        "started": job.started,
        "finished": job.finished,
        "status": job.status,
        # The body itself while it is in memory; else where the journal has it.
        "response": encode_response(job.response) if job.response is not None else None,
        "result_at": job.result_at,
        "progress": list(job.progress) if job.progress is not None else None,
        "cancelling": job.cancelling,
        # Only when asked for, as in the journal's lines.
        **({"priority": job.priority} if job.priority else {}),
        **({"not_before": job.not_before} if job.not_before is not None else {}),
        **(
            {"concurrency_key": job.concurrency_key}
            if job.concurrency_key is not None
            else {}
        ),
        **(
            {
                "attempt": job.attempt,
                "retries": job.retries,
                "retry_delay": job.retry_delay,
            }
            # (attempt too: a retrying event is legal for any running job)
            if job.retries or job.attempt != 1
            else {}
        ),
    }


def decode_table(header: Mapping[str, Any], jobs: Iterable[Any]) -> JobTable:
    """The table a snapshot's *header* and *jobs* describe.

    *jobs* is consumed once, in order; whatever it raises (a journal's
    :class:`~eventjobs.errors.JournalCorrupt` for a damaged line) passes
    through.

    Raises:
        CodecError: not a snapshot this version can read; the message says
            which job entry (counting from 1) and which field.
    """
    where = "snapshot"
    if (
        not isinstance(header, Mapping)
        or require_field(header, "v", int, where) not in READS
    ):
        raise CodecError(
            f"{where}: not a snapshot of version {' or '.join(map(str, READS))}"
        )
    table = JobTable(
        position=require_field(header, "position", int, where),
        last_job_id=require_field(header, "last_job_id", int, where),
        keys=_decode_keys(header, where),
        schedules=_decode_schedules(header, where),
    )
    held = table.jobs
    previous = 0
    for number, raw in enumerate(jobs, start=1):
        try:
            job = decode_job(raw)
        except CodecError as error:
            raise CodecError(f"job entry {number}: {error}") from None
        # Ascending ids (as the table keeps them) also rule out duplicates.
        if not previous < job.job_id <= table.last_job_id:
            raise CodecError(
                f"job entry {number}: job {job.job_id} is out of order, duplicated or "
                f"above last_job_id {table.last_job_id}"
            )
        previous = job.job_id
        held[job.job_id] = job
        if job.phase is Phase.QUEUED:
            table.queued_count += 1
        elif job.phase is Phase.RUNNING:
            table.running_count += 1
    table.index_finished()
    return table


def decode_job(data: Any) -> View:
    """The view one snapshot entry describes (either shape).

    Raises:
        CodecError: naming the job and the field.
    """
    if not isinstance(data, dict):
        raise CodecError("snapshot: a job is not a JSON object")
    where = f"snapshot job {data.get('job')!r}"
    if "phase" not in data:
        return _decode_finished(data, where)
    try:
        phase = Phase(require_field(data, "phase", str, where))
    except ValueError:
        raise CodecError(f"{where}: unknown phase {data.get('phase')!r}") from None
    if phase is Phase.FINISHED:  # a version 1 snapshot: every field
        if not (data.get("visible") is True and data.get("store") is True):
            raise CodecError(
                f"{where}: a finished job in a snapshot must be visible and stored"
            )
        return _decode_finished(data, where)
    return JobView(
        job_id=_job_id(data, where),
        owner=_owner(data, where),
        store=require_field(data, "store", bool, where),
        # Interned as in the projection: live results share a few routes.
        method=sys.intern(require_field(data, "method", str, where)),
        path=sys.intern(require_field(data, "path", str, where)),
        created=decode_time(require_field(data, "created", (int, float), where), where),
        phase=phase,
        visible=require_field(data, "visible", bool, where),
        request=decode_request(require_field(data, "request", dict, where)),
        started=_optional_time(data, "started", where),
        progress=_progress(data, where),
        cancelling=require_field(data, "cancelling", bool, where),
        priority=require_field(data, "priority", int, where)
        if "priority" in data
        else 0,
        not_before=_optional_time(data, "not_before", where)
        if "not_before" in data
        else None,
        concurrency_key=require_field(data, "concurrency_key", str, where)
        if "concurrency_key" in data
        else None,
        **_retries(data, where),
    )


def _retries(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A pending job's retry fields (absent: none asked for)."""
    if "retries" not in data:
        return {}
    return {
        "attempt": require_field(data, "attempt", int, where),
        "retries": require_field(data, "retries", int, where),
        "retry_delay": float(require_field(data, "retry_delay", (int, float), where)),
    }


def _decode_finished(data: dict[str, Any], where: str) -> FinishedJob:
    result: RecordedResponse | int
    if data.get("result_at") is not None:  # a version 1 entry has both, one null
        result = require_field(data, "result_at", int, where)
    else:
        result = decode_response(require_field(data, "response", dict, where))
    return FinishedJob.of(
        job_id=_job_id(data, where),
        owner=_owner(data, where),
        method=sys.intern(require_field(data, "method", str, where)),
        path=sys.intern(require_field(data, "path", str, where)),
        created=decode_time(require_field(data, "created", (int, float), where), where),
        started=_optional_time(data, "started", where),
        finished=decode_time(
            require_field(data, "finished", (int, float), where), where
        ),
        status=require_field(data, "status", int, where),
        result=result,
    )


def _job_id(data: Mapping[str, Any], where: str) -> int:
    job_id: int = require_field(data, "job", int, where)
    if job_id < 1:
        raise CodecError(f"{where}: job ids are positive")
    return job_id


def _owner(data: Mapping[str, Any], where: str) -> str | None:
    owner = decode_owner(data, "owner", where)
    # Interned: a million results share their owners' names.
    return None if owner is None else sys.intern(owner)


def _progress(data: Mapping[str, Any], where: str) -> tuple[float, str] | None:
    value = require_field(data, "progress", (list, type(None)), where)
    if value is None:
        return None
    if not (
        len(value) == 2
        and isinstance(value[0], (int, float))
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    ):
        raise CodecError(f"{where}: progress is not [fraction, message]")
    return float(value[0]), value[1]


def _decode_keys(
    header: Mapping[str, Any], where: str
) -> dict[tuple[str | None, str], KeyUse]:
    """The header's ``keys`` (absent in snapshots without any)."""
    keys: dict[tuple[str | None, str], KeyUse] = {}
    for entry in header.get("keys", ()):
        if not (
            isinstance(entry, list)
            and len(entry) == 6
            and isinstance(entry[0], (str, type(None)))
            and isinstance(entry[1], str)
            and type(entry[2]) is int
            and isinstance(entry[3], (int, float))
            and isinstance(entry[4], bool)
            and isinstance(entry[5], str)
        ):
            raise CodecError(
                f"{where}: an idempotency key entry is not "
                "[owner, key, job, time, store, digest]"
            )
        try:
            digest = bytes.fromhex(entry[5])
        except ValueError:
            raise CodecError(
                f"{where}: an idempotency key's digest is not hex"
            ) from None
        keys[entry[0], entry[1]] = KeyUse(
            entry[2], decode_time(entry[3], where), entry[4], digest
        )
    return keys


def _optional_time(data: Mapping[str, Any], name: str, where: str) -> float | None:
    value = require_field(data, name, (int, float, type(None)), where)
    return None if value is None else decode_time(value, where)
