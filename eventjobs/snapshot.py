"""Snapshots: the job table as a JSON-ready dict and back. Pure.

A snapshot is the table as it was at one journal position, so that a start
replays only the records after it. It holds every job the table holds (live
jobs: pending, or finished and not yet fetched or deleted), so its size
follows the live set, not the history.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
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
from .projection import JobTable, JobView, Phase

#: Shape version of the snapshot dict; bump it (and read the old one) on change.
VERSION = 1


def encode_table(table: JobTable) -> dict[str, Any]:
    return {
        "v": VERSION,
        "position": table.position,
        "last_job_id": table.last_job_id,
        "jobs": [_encode_job(job) for job in table.jobs.values()],
    }


def _encode_job(job: JobView) -> dict[str, Any]:
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
    }


def decode_table(data: Mapping[str, Any]) -> JobTable:
    """The table *data* describes.

    Raises:
        CodecError: *data* is not a snapshot this version can read.
    """
    where = "snapshot"
    if not isinstance(data, dict) or require_field(data, "v", int, where) != VERSION:
        raise CodecError(f"{where}: not a version {VERSION} snapshot")
    table = JobTable(
        position=require_field(data, "position", int, where),
        last_job_id=require_field(data, "last_job_id", int, where),
    )
    for raw in require_field(data, "jobs", list, where):
        job = _decode_job(raw)
        if job.job_id in table.jobs or job.job_id > table.last_job_id:
            raise CodecError(f"{where}: job {job.job_id} is duplicated or above last_job_id")
        table.jobs[job.job_id] = job
        if job.phase is Phase.QUEUED:
            table.queued_count += 1
        elif job.phase is Phase.RUNNING:
            table.running_count += 1
    return table


def _decode_job(data: Any) -> JobView:
    if not isinstance(data, dict):
        raise CodecError("snapshot: a job is not a JSON object")
    where = f"snapshot job {data.get('job')!r}"
    try:
        phase = Phase(require_field(data, "phase", str, where))
    except ValueError:
        raise CodecError(f"{where}: unknown phase {data.get('phase')!r}") from None
    request = require_field(data, "request", (dict, type(None)), where)
    response = require_field(data, "response", (dict, type(None)), where)
    return JobView(
        job_id=require_field(data, "job", int, where),
        owner=decode_owner(data, "owner", where),
        store=require_field(data, "store", bool, where),
        # Interned as in the projection: live results share a few routes.
        method=sys.intern(require_field(data, "method", str, where)),
        path=sys.intern(require_field(data, "path", str, where)),
        created=decode_time(require_field(data, "created", (int, float), where), where),
        phase=phase,
        visible=require_field(data, "visible", bool, where),
        request=decode_request(request) if request is not None else None,
        started=_optional_time(data, "started", where),
        finished=_optional_time(data, "finished", where),
        status=require_field(data, "status", (int, type(None)), where),
        response=decode_response(response) if response is not None else None,
        result_at=require_field(data, "result_at", (int, type(None)), where),
        progress=_progress(data, where),
        cancelling=require_field(data, "cancelling", bool, where),
    )


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


def _optional_time(data: Mapping[str, Any], name: str, where: str) -> float | None:
    value = require_field(data, name, (int, float, type(None)), where)
    return None if value is None else decode_time(value, where)
