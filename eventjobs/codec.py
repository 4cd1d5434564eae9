"""Events to JSON-ready dicts and back: the journal's data format.

A record's event part looks like::

    {"type": "done", "v": 1, "job": 7, "time": 1764412345.25,
     "response": {"status": 200, "headers": [["content-type", "text/plain"]],
                  "body": {"encoding": "utf-8", "data": "hello"}}}

Bodies are stored as UTF-8 text when they decode as such and their JSON
spelling is not much longer than base64 would be, and as base64 otherwise
(:func:`body_encoding`); ``encoding`` says which, so a reader needs no rule. ``v`` is the shape version of that event
type: when a shape changes, bump it and add an upgrade step to ``_UPCASTERS``
so old journals keep reading. Decoding never trusts its input: anything
missing or of the wrong type raises :class:`~eventjobs.errors.CodecError`
naming the field.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
from collections.abc import Callable, Iterator, Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

from .errors import CodecError
from .retries import MAX_RETRIES
from .headers import (
    MAX_IDEMPOTENCY_KEY,
    MAX_PRIORITY,
    MIN_PRIORITY,
    is_visible_ascii,
)
from .events import (
    EVENT_TYPES,
    Event,
    Headers,
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
    type_name,
)

#: Current shape version of every event type.
VERSION = 1

#: (type name, version) -> function upgrading that shape to version + 1.
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


# -- encoding -------------------------------------------------------------


#: Text may be this many bytes longer than its base64 would be and still be
#: stored as text: short bodies (a JSON answer, a message with accents) stay
#: readable in the journal; long ones cost at most 4/3 of their size.
TEXT_SLACK = 64

#: Bodies are looked at in blocks of this many bytes (a multiple of 3, so
#: base64 blocks join without padding): no whole-body text is ever built.
BODY_BLOCK = 3 << 16

#: The bytes JSON spells as themselves: printable ASCII but ``"`` and ``\\``.
_PLAIN = bytes(byte for byte in range(0x20, 0x7F) if byte not in b'"\\')


def base64_length(size: int) -> int:
    """The length of the base64 of *size* bytes."""
    return 4 * ((size + 2) // 3)


def text_json(body: bytes) -> Iterator[bytes | memoryview]:
    """The JSON spelling (``ensure_ascii``, without the quotes) of *body*
    read as UTF-8, block by block: exactly what ``json.dumps`` writes for
    ``body.decode("utf-8")``. Blocks of plain printable ASCII are views of
    *body*, not copies.

    Raises:
        UnicodeDecodeError: *body* is not UTF-8 (when the iteration gets there).
    """
    view = memoryview(body)
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(body), BODY_BLOCK):
        block = body[start : start + BODY_BLOCK]
        if block.isascii() and not block.translate(None, _PLAIN):
            if decoder.getstate()[0]:  # a character cut at the block before
                decoder.decode(b"", final=True)  # raises
            yield view[start : start + len(block)]
        else:
            yield encode_basestring_ascii(decoder.decode(block))[1:-1].encode("ascii")
    decoder.decode(b"", final=True)  # a character cut off at the end raises


def base64_json(body: bytes) -> Iterator[bytes]:
    """The base64 of *body* (its JSON spelling, without the quotes), block
    by block; the blocks join to ``base64.b64encode(body)``."""
    view = memoryview(body)
    for start in range(0, len(body), BODY_BLOCK):
        yield binascii.b2a_base64(view[start : start + BODY_BLOCK], newline=False)


def text_json_length(body: bytes, limit: int) -> int | None:
    """The length of :func:`text_json` of *body*; None when *body* is not
    UTF-8 or the length is over *limit* (looking no further then)."""
    total = 0
    try:
        for block in text_json(body):
            total += len(block)
            if total > limit:
                return None
    except UnicodeDecodeError:
        return None
    return total


def body_encoding(body: bytes) -> tuple[str, int]:
    """How *body* is stored, ``"utf-8"`` or ``"base64"``, and the length of
    its JSON spelling without the quotes.

    Text when *body* is UTF-8 and its spelling (non-ASCII and control
    characters are ``\\u`` escapes) is at most :data:`TEXT_SLACK` bytes
    longer than base64: the journal holds any body in at most 4/3 of its
    size plus that slack (a 16 MiB body of zero bytes spelled as text took
    6 times its size).
    """
    limit = base64_length(len(body)) + TEXT_SLACK
    if len(body) <= BODY_BLOCK:  # the usual body: one look, no blocks
        try:
            length: int | None = len(encode_basestring_ascii(body.decode("utf-8"))) - 2
        except UnicodeDecodeError:
            length = None
        if length is not None and length > limit:
            length = None
    else:
        length = text_json_length(body, limit)
    if length is not None:
        return "utf-8", length
    return "base64", base64_length(len(body))


def encode_body(body: bytes) -> dict[str, str]:
    """The JSON-ready ``{"encoding", "data"}`` of *body* (:func:`body_encoding`)."""
    if body_encoding(body)[0] == "utf-8":
        return {"encoding": "utf-8", "data": body.decode("utf-8")}
    return {"encoding": "base64", "data": base64.b64encode(body).decode("ascii")}


#: How an event's body becomes its JSON-ready value (:func:`encode_event`).
BodyEncoder = Callable[[bytes], dict[str, str]]


def _encode_headers(headers: Headers) -> list[list[str]]:
    return [[name, value] for name, value in headers]


def encode_request(
    request: RecordedRequest, body: BodyEncoder = encode_body
) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "headers": _encode_headers(request.headers),
        "body": body(request.body),
        "client": request.client,
    }


def encode_response(
    response: RecordedResponse, body: BodyEncoder = encode_body
) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": _encode_headers(response.headers),
        "body": body(response.body),
    }


def encode_event(event: Event, body: BodyEncoder = encode_body) -> dict[str, Any]:
    """The JSON-ready dict for *event* (type name and version included);
    its body, if it has one, encoded by *body* (the journal's line writer
    puts a big body's bytes in place itself)."""
    data: dict[str, Any] = {
        "type": type_name(event),
        "v": VERSION,
        "job": event.job_id,
        "time": event.time,
    }
    match event:
        case JobQueued():
            data["owner"] = event.owner
            data["store"] = event.store
            data["request"] = encode_request(event.request, body)
            # Only when asked for: a plain submission's line is as it ever was.
            if event.idempotency_key is not None:
                data["idempotency_key"] = event.idempotency_key
            if event.not_before is not None:
                data["not_before"] = event.not_before
            if event.priority:
                data["priority"] = event.priority
            if event.schedule is not None:
                data["schedule"] = event.schedule
                data["schedule_time"] = event.schedule_time
            if event.concurrency_key is not None:
                data["concurrency_key"] = event.concurrency_key
            if event.retries:
                data["retries"] = event.retries
                data["retry_delay"] = event.retry_delay
        case JobStarted():
            if event.attempt != 1:  # a first attempt's line is as it ever was
                data["attempt"] = event.attempt
        case JobRetrying():
            data["attempt"] = event.attempt
            data["reason"] = event.reason
            data["status"] = event.status
            data["not_before"] = event.not_before
        case JobDone():
            data["response"] = encode_response(event.response, body)
        case JobCancelled():
            data["by"] = event.by
            data["response"] = encode_response(event.response, body)
        case JobInterrupted():
            data["reason"] = event.reason
            data["response"] = encode_response(event.response, body)
        case JobRequeued():
            data["reason"] = event.reason
        case JobFetched():
            data["by"] = event.by
        case JobDeleted():
            data["by"] = event.by
            data["reason"] = event.reason
        case JobProgressed():
            data["fraction"] = event.fraction
            data["message"] = event.message
        case JobCancelling():
            data["by"] = event.by
            data["reason"] = event.reason
        case JobTimedOut():
            data["timeout"] = event.timeout
            data["response"] = encode_response(event.response, body)
        case ScheduleAdded():
            data["owner"] = event.owner
            data["request"] = encode_request(event.request, body)
            if event.cron is not None:
                data["cron"] = event.cron
            if event.every is not None:
                data["every"] = event.every
            if event.timezone is not None:
                data["timezone"] = event.timezone
            data["catch_up"] = event.catch_up
        case ScheduleRemoved():
            data["by"] = event.by
    return data


# -- decoding -------------------------------------------------------------


def require_field(
    data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str
) -> Any:
    """``data[name]``, checked to be of *kind* (a bool is never a number).

    Raises:
        CodecError: naming *where* and the field.
    """
    if name not in data:
        raise CodecError(f"{where}: field {name!r} is missing")
    value = data[name]
    # bool is an int in Python; a boolean where a number belongs is damage.
    if isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)
    ):
        raise CodecError(f"{where}: field {name!r} must not be a boolean")
    if not isinstance(value, kind):
        raise CodecError(
            f"{where}: field {name!r} has the wrong type ({type(value).__name__})"
        )
    return value


def _mapping(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value: Mapping[str, Any] = require_field(data, name, dict, where)
    return value


def decode_body(data: Mapping[str, Any], where: str) -> bytes:
    encoding = require_field(data, "encoding", str, where)
    text: str = require_field(data, "data", str, where)
    if encoding == "utf-8":
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise CodecError(f"{where}: utf-8 body holds a lone surrogate") from None
    if encoding == "base64":
        try:
            # Straight from the str (no ASCII copy of a big body first);
            # strict: only the alphabet, padding only at the end.
            return binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError) as error:
            raise CodecError(f"{where}: body is not valid base64 ({error})") from None
    raise CodecError(f"{where}: unknown body encoding {encoding!r}")


def _decode_headers(data: Mapping[str, Any], where: str) -> Headers:
    raw = require_field(data, "headers", list, where)
    headers = []
    for pair in raw:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            raise CodecError(
                f"{where}: a header is not a [name, value] pair of strings"
            )
        headers.append((pair[0], pair[1]))
    return tuple(headers)


def decode_request(data: Mapping[str, Any]) -> RecordedRequest:
    where = "request"
    return RecordedRequest(
        method=require_field(data, "method", str, where),
        path=require_field(data, "path", str, where),
        query_string=require_field(data, "query", str, where),
        headers=_decode_headers(data, where),
        body=decode_body(_mapping(data, "body", where), "request body"),
        client=require_field(data, "client", (str, type(None)), where),
    )


def decode_response(data: Mapping[str, Any]) -> RecordedResponse:
    where = "response"
    status = require_field(data, "status", int, where)
    if not 100 <= status <= 599:
        raise CodecError(f"{where}: status {status} is not an HTTP status")
    return RecordedResponse(
        status=status,
        headers=_decode_headers(data, where),
        body=decode_body(_mapping(data, "body", where), "response body"),
    )


def decode_time(value: float, where: str) -> float:
    try:
        time = float(value)
    except OverflowError:
        raise CodecError(f"{where}: field 'time' is too large") from None
    if not math.isfinite(time):
        raise CodecError(f"{where}: field 'time' is not a finite number")
    return time


def decode_owner(data: Mapping[str, Any], name: str, where: str) -> str | None:
    value: str | None = require_field(data, name, (str, type(None)), where)
    return value


def decode_event(data: Mapping[str, Any]) -> Event:
    """The event *data* describes, upgraded to the current shape.

    Raises:
        CodecError: *data* is not a valid event of any known type and version.
    """
    if not isinstance(data, dict):
        raise CodecError(f"an event must be a JSON object, not {type(data).__name__}")
    name = require_field(data, "type", str, "event")
    if name not in EVENT_TYPES:
        raise CodecError(f"unknown event type {name!r}")
    version = require_field(data, "v", int, name)
    if version > VERSION or version < 1:
        raise CodecError(f"{name}: version {version} is not known to this eventjobs")
    while version < VERSION:
        data = _UPCASTERS[(name, version)](dict(data))
        version += 1
    where = f"{name} event"
    job_id = require_field(data, "job", int, where)
    if job_id < 1:
        raise CodecError(f"{where}: job id {job_id} is not positive")
    time = decode_time(require_field(data, "time", (int, float), where), where)
    match name:
        case "queued":
            return JobQueued(
                job_id=job_id,
                time=time,
                owner=decode_owner(data, "owner", where),
                store=require_field(data, "store", bool, where),
                request=decode_request(_mapping(data, "request", where)),
                **_decode_shape(data, where),
            )
        case "started":
            attempt = _attempt(data, where) if "attempt" in data else 1
            return JobStarted(job_id=job_id, time=time, attempt=attempt)
        case "retrying":
            attempt = _attempt(data, where)
            status = require_field(data, "status", int, where)
            if not 100 <= status <= 599:
                raise CodecError(f"{where}: status {status} is not an HTTP status")
            return JobRetrying(
                job_id=job_id,
                time=time,
                attempt=attempt,
                reason=require_field(data, "reason", str, where),
                status=status,
                not_before=_number(data, "not_before", where),
            )
        case "done":
            return JobDone(
                job_id=job_id,
                time=time,
                response=decode_response(_mapping(data, "response", where)),
            )
        case "cancelled":
            return JobCancelled(
                job_id=job_id,
                time=time,
                by=decode_owner(data, "by", where),
                response=decode_response(_mapping(data, "response", where)),
            )
        case "interrupted":
            return JobInterrupted(
                job_id=job_id,
                time=time,
                reason=require_field(data, "reason", str, where),
                response=decode_response(_mapping(data, "response", where)),
            )
        case "requeued":
            return JobRequeued(
                job_id=job_id,
                time=time,
                reason=require_field(data, "reason", str, where),
            )
        case "fetched":
            return JobFetched(
                job_id=job_id, time=time, by=decode_owner(data, "by", where)
            )
        case "deleted":
            return JobDeleted(
                job_id=job_id,
                time=time,
                by=decode_owner(data, "by", where),
                reason=require_field(data, "reason", str, where),
            )
        case "progress":
            fraction = _number(data, "fraction", where)
            if not 0.0 <= fraction <= 1.0:
                raise CodecError(f"{where}: fraction {fraction} is not between 0 and 1")
            return JobProgressed(
                job_id=job_id,
                time=time,
                fraction=fraction,
                message=require_field(data, "message", str, where),
            )
        case "cancelling":
            return JobCancelling(
                job_id=job_id,
                time=time,
                by=decode_owner(data, "by", where),
                reason=require_field(data, "reason", str, where),
            )
        case "timed_out":
            timeout = _number(data, "timeout", where)
            if timeout < 0:
                raise CodecError(f"{where}: timeout {timeout} is negative")
            return JobTimedOut(
                job_id=job_id,
                time=time,
                timeout=timeout,
                response=decode_response(_mapping(data, "response", where)),
            )
        case "schedule_added":
            return ScheduleAdded(
                job_id=job_id,
                time=time,
                owner=decode_owner(data, "owner", where),
                request=decode_request(_mapping(data, "request", where)),
                cron=require_field(data, "cron", str, where)
                if "cron" in data
                else None,
                every=_number(data, "every", where) if "every" in data else None,
                timezone=(
                    require_field(data, "timezone", str, where)
                    if "timezone" in data
                    else None
                ),
                catch_up=require_field(data, "catch_up", str, where),
            )
        case "schedule_removed":
            return ScheduleRemoved(
                job_id=job_id, time=time, by=decode_owner(data, "by", where)
            )
    raise AssertionError(f"event type {name!r} is registered but not decoded")


def _decode_shape(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A ``queued`` event's optional shape fields (absent in old journals)."""
    shape: dict[str, Any] = {}
    if data.get("idempotency_key") is not None:
        key = require_field(data, "idempotency_key", str, where)
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not is_visible_ascii(key):
            raise CodecError(f"{where}: idempotency_key {key[:40]!r} is not valid")
        shape["idempotency_key"] = key
    if data.get("not_before") is not None:
        shape["not_before"] = _number(data, "not_before", where)
    if "priority" in data:
        priority = require_field(data, "priority", int, where)
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise CodecError(
                f"{where}: priority {priority} is not from {MIN_PRIORITY} to {MAX_PRIORITY}"
            )
        shape["priority"] = priority
    if data.get("schedule") is not None:
        schedule = require_field(data, "schedule", int, where)
        if schedule < 1:
            raise CodecError(f"{where}: schedule id {schedule} is not positive")
        shape["schedule"] = schedule
        shape["schedule_time"] = _number(data, "schedule_time", where)
    if data.get("concurrency_key") is not None:
        ckey = require_field(data, "concurrency_key", str, where)
        if not ckey or len(ckey) > MAX_IDEMPOTENCY_KEY or not is_visible_ascii(ckey):
            raise CodecError(f"{where}: concurrency_key {ckey[:40]!r} is not valid")
        shape["concurrency_key"] = ckey
    if "retries" in data:
        retries = require_field(data, "retries", int, where)
        if not 0 <= retries <= MAX_RETRIES:
            raise CodecError(
                f"{where}: retries {retries} is not from 0 to {MAX_RETRIES}"
            )
        shape["retries"] = retries
        delay = _number(data, "retry_delay", where)
        if delay < 0:
            raise CodecError(f"{where}: retry_delay {delay} is negative")
        shape["retry_delay"] = delay
    return shape


def _attempt(data: Mapping[str, Any], where: str) -> int:
    """An event's attempt number (from 1)."""
    attempt = require_field(data, "attempt", int, where)
    if attempt < 1:
        raise CodecError(f"{where}: attempt {attempt} is not positive")
    return attempt


def _number(data: Mapping[str, Any], name: str, where: str) -> float:
    """A finite number field, as a float."""
    value = require_field(data, name, (int, float), where)
    try:
        number = float(value)
    except OverflowError:
        raise CodecError(f"{where}: field {name!r} is too large") from None
    if not math.isfinite(number):
        raise CodecError(f"{where}: field {name!r} is not a finite number")
    return number
