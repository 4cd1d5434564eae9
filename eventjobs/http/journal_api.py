"""The audit trail over HTTP: ``/_eventjobs/journal`` and ``/_eventjobs/jobs/{id}/history``.

- ``GET /_eventjobs/journal?after=SEQ[&follow=true]`` streams the records
  after SEQ as newline-delimited JSON, one ``{"seq": ..., "type": ...}``
  object (the journal's own encoding) per line. With ``follow=true`` the
  response stays open and new records follow as they become durable, until
  the client disconnects. Quart's response timeout (``RESPONSE_TIMEOUT``,
  60 s by default) does not apply: a long journal takes longer to send, and
  a following stream lasts as long as its client. Superusers only (while
  authentication is off, every caller is one); others get 401 (not
  authenticated) or 403.
- ``GET /_eventjobs/jobs/{id}/history`` answers ``{"job", "owner",
  "events"}``: every record of that job. Visible to the job's owner and to
  superusers; to anyone else the job does not exist (404), as in the job API.

- ``GET /_eventjobs/checkpoint``: the newest signed checkpoint of the
  journal's Merkle tree (a C2SP signed note, ``text/plain``); 404 when none
  was signed yet.
- ``GET /_eventjobs/jobs/{id}/receipt``: the job's receipt, its records with
  their inclusion proofs in the newest checkpoint's tree; visible as the
  history is.
- ``GET /_eventjobs/consistency?from=M&to=N``: ``{"from", "to", "proof"}``,
  the RFC 9162 consistency proof between the trees of M and N records.

docs/audit.md says what they prove. All read through the runtime's journal; a file journal's reads block, so
they run in a worker thread. Like the job API these paths are never queued
as jobs (:func:`eventjobs.http.paths.is_job_api`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import trio
from quart import Blueprint, Response, current_app, request

from ..codec import encode_event
from ..errors import JournalCorrupt
from ..journal.lines import parse_record
from ..events import JobQueued
from ..journal import Recorded
from ..results import ERROR_FORBIDDEN, ERROR_HTTP_BAD_PARAMETER
from ..runtime import Runtime
from ..runtime.transparency import NoCheckpoint, OutOfRange
from .context import current_caller
from .reauth import credential_check
from .responses import bad_parameter, error, json_response, not_found, shown

log = logging.getLogger(__name__)

blueprint = Blueprint("journal_api", __name__)

#: Records read per batch while streaming (bounds memory on long journals).
BATCH = 1000
#: How often a following stream looks for new records.
FOLLOW_POLL_SECONDS = 0.25
ERROR_HTTP_UNAUTHORIZED = 401


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["eventjobs"]
    return runtime


def _line(record: Recorded) -> bytes:
    return (
        json.dumps(
            {"seq": record.seq, **encode_event(record.event)}, separators=(",", ":")
        ).encode()
        + b"\n"
    )


@blueprint.route("/_eventjobs/journal", methods=["GET"])
async def journal_stream() -> Response:
    caller = current_caller()
    if not caller.superuser:
        if caller.name is None:
            return error(
                401, ERROR_HTTP_UNAUTHORIZED, "not authorized to execute this request"
            )
        return error(403, ERROR_FORBIDDEN, "forbidden")
    after_text = request.args.get("after", "0")
    # ASCII digits of a 64-bit sequence number only ("²" is a digit to
    # str.isdigit, and int() refuses thousands of digits).
    if not (after_text.isascii() and after_text.isdigit() and len(after_text) <= 20):
        return bad_parameter(
            f"after must be a sequence number, not {shown(after_text)}"
        )
    follow = request.args.get("follow", "false").lower() in ("true", "1", "yes")
    runtime = _runtime()
    credentials = credential_check()

    async def lines(position: int) -> AsyncIterator[bytes]:
        while True:
            if not await credentials.still_valid():
                log.info("journal stream ended: its credentials no longer hold")
                return
            if follow and runtime.records.head <= position:
                # Nothing new is durable: a read would rescan a segment for nothing.
                await trio.sleep(FOLLOW_POLL_SECONDS)
                continue
            try:
                batch = await runtime.records.after(position, BATCH)
            except JournalCorrupt as problem:  # the status line is sent: end the stream
                log.error("journal stream ended: %s", problem)
                return
            for record in batch:
                yield _line(record)
            if batch:
                position = batch[-1].seq
                if len(batch) == BATCH:
                    continue
            if not follow:
                return
            await trio.sleep(FOLLOW_POLL_SECONDS)

    response = Response(
        lines(int(after_text)), 200, content_type="application/x-ndjson"
    )
    # Quart ends a response after RESPONSE_TIMEOUT (60 s by default); a
    # following stream lasts until the client leaves, and a dump of a long
    # journal to a slow client may take longer too. None lifts the limit.
    response.timeout = None
    return response


@blueprint.route("/_eventjobs/jobs/<int:job_id>/history", methods=["GET"])
async def job_history(job_id: int) -> Response:
    records = await _runtime().records.of_job(job_id)
    queued = [r.event for r in records if isinstance(r.event, JobQueued)]
    owner = queued[0].owner if queued else None
    caller = current_caller()
    # Without its queued record (pruned) the owner is unknown: superusers only.
    if not records or not (caller.superuser or (queued and caller.owns(owner))):
        return not_found()
    events: list[dict[str, Any]] = [
        {"seq": r.seq, **encode_event(r.event)} for r in records
    ]
    return json_response({"job": job_id, "owner": owner, "events": events})


def _owner_sees(records: list[Recorded]) -> tuple[str | None, bool]:
    """The job's owner, and whether the caller may see the job."""
    queued = [r.event for r in records if isinstance(r.event, JobQueued)]
    owner = queued[0].owner if queued else None
    caller = current_caller()
    # Without its queued record (pruned) the owner is unknown: superusers only.
    return owner, bool(records) and (
        caller.superuser or (bool(queued) and caller.owns(owner))
    )


@blueprint.route("/_eventjobs/checkpoint", methods=["GET"])
async def checkpoint() -> Response:
    try:
        note = await _runtime().transparency.latest()
    except NoCheckpoint as missing:
        return not_found(str(missing))
    return Response(note, 200, content_type="text/plain; charset=utf-8")


@blueprint.route("/_eventjobs/jobs/<int:job_id>/receipt", methods=["GET"])
async def job_receipt(job_id: int) -> Response:
    transparency = _runtime().transparency
    try:
        # No checkpoint is the same answer for every job: asked first, it
        # spares building the tree of a server that signs none.
        await transparency.latest()
    except NoCheckpoint as missing:
        return not_found(str(missing))
    # The job's own lines, found by the tree's job index (no journal scan).
    lines = await transparency.job_lines(job_id)
    records = [parse_record(line, f"record {seq}", seq, None)[0] for seq, line in lines]
    _owner, visible = _owner_sees(records)
    if not visible:
        return not_found()
    try:
        receipt = await transparency.receipt(job_id, lines)
    except NoCheckpoint as missing:
        return not_found(str(missing))
    return json_response(receipt)


def _size(name: str) -> int | None:
    text = request.args.get(name)
    if text is None or not (text.isascii() and text.isdigit() and len(text) <= 20):
        return None
    return int(text)


@blueprint.route("/_eventjobs/consistency", methods=["GET"])
async def consistency() -> Response:
    old, new = _size("from"), _size("to")
    if old is None or new is None:
        return error(
            400,
            ERROR_HTTP_BAD_PARAMETER,
            "from and to must be tree sizes (whole numbers, from <= to): "
            "/_eventjobs/consistency?from=M&to=N",
        )
    try:
        proof = await _runtime().transparency.consistency(old, new)
    except OutOfRange as problem:
        return error(400, ERROR_HTTP_BAD_PARAMETER, str(problem))
    return json_response({"from": old, "to": new, "proof": proof})
