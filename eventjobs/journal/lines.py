"""The line format of the file journal: sealed JSON records. No file I/O.

A sealed line is compact JSON whose last member is ``"hash"``: the SHA-256
(hex) of the same line without that member. Journal records, snapshot lines
and checkpoints are all sealed, so any edit of one is caught by the line itself.
Records also carry ``prev``, the hash of the record before, which chains them.
"""

from __future__ import annotations

import hashlib
import json
import re
from types import ModuleType
from typing import Any

_orjson: ModuleType | None
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json still works
    _orjson = None

from ..codec import (
    base64_json,
    body_encoding,
    decode_event,
    encode_body,
    encode_event,
    text_json,
)
from ..errors import CodecError, JournalCorrupt
from ._protocol import Recorded

GENESIS_HASH = "0" * 64

_HASH_OPEN = b',"hash":"'
_SEAL_LENGTH = len(_HASH_OPEN) + 64 + 2  # ,"hash":"<64 hex digits>"}

#: For a PostgreSQL journal (its tables, not files).
PG_REPAIR_HINT = (
    "The journal's tables were changed by something other than eventjobs. Restore "
    "the schema from a backup (pg_dump --schema=NAME), or copy what still verifies to "
    "a new journal with 'eventjobs journal copy'; never edit the tables by hand."
)

REPAIR_HINT = (
    "The journal was changed by something other than eventjobs. Restore the "
    "directory from a backup, or move it aside and start with an empty one; "
    "never edit journal files by hand."
)


def seal(value: dict[str, Any]) -> tuple[bytes, str]:
    """*value* as a sealed JSON line (no newline), and its hash.

    The bytes are exactly ``json.dumps(value, separators=(",", ":"))``
    (ASCII, non-ASCII ``\\u``-escaped), whichever serialiser produced them;
    see :func:`_dumps`.
    """
    unsealed = _dumps(value)
    digest = hashlib.sha256(unsealed).hexdigest()
    return unsealed[:-1] + _HASH_OPEN + digest.encode("ascii") + b'"}', digest


def _dumps(value: dict[str, Any]) -> bytes:
    """Compact ASCII JSON for *value*, byte for byte what ``json.dumps`` gives.

    orjson is 4-8x faster than ``json.dumps`` on a journal record, and the
    encoding runs on the event loop for every event (docs/performance.md),
    so it is used when its output is provably the same bytes:

    - the output is ASCII without DEL: orjson writes non-ASCII characters
      as raw UTF-8 where the format escapes them (``ensure_ascii``), and
      DEL (0x7f) raw where ``json`` writes ``\\u007f`` (the only ASCII
      character they spell differently), so any other text takes the
      ``json`` path, which also handles lone surrogates (orjson refuses
      them);
    - every float of the record (all are top-level fields: ``time``, and
      ``fraction`` or ``timeout`` where an event has one) is 0 or has a
      magnitude in [1e-4, 1e16): there both print the shortest round-trip
      digits without an exponent; outside it they spell exponents
      differently (``1e+16`` against ``1e16``);
    - integers fit 64 bits (orjson raises otherwise).

    Checkpoints (no ``seq``) always take the ``json`` path; snapshot lines
    are sealed by :mod:`eventjobs.journal.snapshots`, where any spelling will do.
    ``tests/journal/test_file_journal.py`` checks the equality on arbitrary
    events.
    """
    if (
        _orjson is not None
        and "seq" in value
        and all(
            _same_spelling(field) for field in value.values() if type(field) is float
        )
    ):
        try:
            data: bytes = _orjson.dumps(value)
        except TypeError:  # a lone surrogate, an integer beyond 64 bits
            pass
        else:
            if data.isascii() and b"\x7f" not in data:
                return data
    # ensure_ascii keeps every line plain ASCII: any str round-trips, lone
    # surrogates included, and the bytes hashed are unambiguous.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _same_spelling(number: float) -> bool:
    """Whether orjson and json print *number* alike (no exponent either way)."""
    return number == 0 or 1e-4 <= abs(number) < 1e16


def sealed_hash(line: bytes | memoryview) -> str | None:
    """The hash a sealed line claims, if its content has it; else None."""
    tail = bytes(line[-_SEAL_LENGTH:])
    if (
        len(tail) < _SEAL_LENGTH
        or not tail.startswith(_HASH_OPEN)
        or not tail.endswith(b'"}')
    ):
        return None
    if len(line) < _VIEW_BYTES and not isinstance(line, memoryview):
        # The usual record: a copy is cheaper than a view.
        actual = hashlib.sha256(line[:-_SEAL_LENGTH] + b"}").hexdigest()
    else:  # hashed in place: a line may hold a big body
        with memoryview(line) as view:
            hasher = hashlib.sha256(view[:-_SEAL_LENGTH])
        hasher.update(b"}")
        actual = hasher.hexdigest()
    claimed = tail[len(_HASH_OPEN) : -2].decode("ascii", "replace")
    return claimed if claimed == actual else None


#: From this length on, :func:`sealed_hash` hashes a line through a view.
_VIEW_BYTES = 1 << 16


#: A body this long or longer is put into its line as bytes, not as a str
#: in the dict to serialise (:func:`encode_record`).
SPLICED_BODY_BYTES = 1 << 16

#: What a big body's data is while the rest of its record is serialised: a
#: string no JSON serialiser escapes, found again by its quotes.
_BODY_MARK = "eventjobs:body-spliced-here"
_QUOTED_MARK = b'"' + _BODY_MARK.encode("ascii") + b'"'


def encode_record(record: Recorded, prev: str) -> tuple[bytes | bytearray, str]:
    """The journal line for *record* chained after *prev*, and its hash.

    Byte for byte ``seal({"seq", "prev", **encode_event(event)})``. A big
    body (at least :data:`SPLICED_BODY_BYTES`) is not turned into a str and
    serialised with the record: the rest of the record is, around a mark,
    and the body's JSON spelling is written block by block into the line's
    one buffer, so encoding holds the body, that line and one block; the
    line (a ``bytearray``) is hashed in place.
    """
    spliced: list[tuple[str, int, bytes]] = []

    def mark_big_body(body: bytes) -> dict[str, str]:
        if len(body) < SPLICED_BODY_BYTES:
            return encode_body(body)
        encoding, length = body_encoding(body)
        spliced.append((encoding, length, body))
        return {"encoding": encoding, "data": _BODY_MARK}

    value = {
        "seq": record.seq,
        "prev": prev,
        **encode_event(record.event, mark_big_body),
    }
    if not spliced:
        return seal(value)
    unsealed = _dumps(value)
    if unsealed.count(_QUOTED_MARK) != 1:  # the mark's text elsewhere: no splicing
        return seal({"seq": record.seq, "prev": prev, **encode_event(record.event)})
    ((encoding, length, body),) = spliced
    head, tail = unsealed.split(_QUOTED_MARK)
    line = bytearray(len(head) + length + len(tail) + 1 + _SEAL_LENGTH)
    view = memoryview(line)
    view[: len(head) + 1] = head + b'"'
    at = len(head) + 1
    for block in text_json(body) if encoding == "utf-8" else base64_json(body):
        view[at : at + len(block)] = block
        at += len(block)
    assert at == len(head) + 1 + length, "the body's spelling changed length"
    view[at : at + len(tail) + 1] = b'"' + tail
    at += len(tail)  # over the closing brace, which the seal replaces
    hasher = hashlib.sha256(view[:at])
    hasher.update(b"}")
    digest = hasher.hexdigest()
    view[at:] = _HASH_OPEN + digest.encode("ascii") + b'"}'
    view.release()
    return line, digest  # a bytearray: bytes-like, and nothing resizes it


def chained_hash(line: bytes, expected_seq: int, prev: str) -> str | None:
    """The hash of *line* if it is record *expected_seq*, sealed and chained
    to *prev*; None if anything is off (then :func:`parse_record` says what).

    Cheap: a prefix comparison and one SHA-256, no JSON decoding.
    """
    prefix = b'{"seq":%d,"prev":"%s"' % (expected_seq, prev.encode("ascii"))
    if not line.startswith(prefix):
        return None
    return sealed_hash(line)


def parse_record(
    line: bytes,
    where: str,
    expected_seq: int,
    prev: str | None,
    *,
    hint: str = REPAIR_HINT,
) -> tuple[Recorded, str]:
    """The record on *line* and its hash, checked against the chain.

    *prev* is the hash the record must chain to; None skips that check (for
    a record read on its own). *hint* ends every message (what to do).

    Raises:
        JournalCorrupt: naming *where*, the sequence number and the damage.
    """
    fast = _fast_loads(line)
    if fast is not None:
        try:
            data, digest = _checked(fast, line, where, expected_seq, prev, hint)
            return decode_record(data, where, expected_seq, hint), digest
        except JournalCorrupt:
            pass  # json's reading gives the verdict, and its message
    data, digest = _checked(
        _json_loads(line, where, expected_seq, hint),
        line,
        where,
        expected_seq,
        prev,
        hint,
    )
    return decode_record(data, where, expected_seq, hint), digest


def load_record(
    line: bytes | memoryview, where: str, expected_seq: int, prev: str | None
) -> tuple[dict[str, Any], str, bool]:
    """The first half of :func:`parse_record`: the event's fields of *line*
    (checked: JSON, sequence number, seal, chain), its hash, and whether
    orjson read it. Then *line* may go before :func:`decode_record`, which
    holds a big body twice less; if that raises on what orjson read, the
    caller must :func:`parse_record` the line instead (json's verdict).

    Raises:
        JournalCorrupt: as :func:`parse_record`.
    """
    fast = _fast_loads(line)
    if fast is not None:
        try:
            return (*_checked(fast, line, where, expected_seq, prev, REPAIR_HINT), True)
        except JournalCorrupt:
            pass
    data = _json_loads(line, where, expected_seq, REPAIR_HINT)
    return (*_checked(data, line, where, expected_seq, prev, REPAIR_HINT), False)


def _fast_loads(line: bytes | memoryview) -> Any:
    """*line* read by orjson (which reads bytes without first decoding them
    to a str: 2-3x faster than json, and a big body is not held twice);
    None when orjson is missing or refuses the line.

    What orjson accepts it reads as json does, except integers beyond 64
    bits (it gives floats) and escaped lone surrogates (it refuses them):
    any record it reads wrongly fails the checks or the decoding, and
    :func:`parse_record` then reads it again with json, whose verdict counts.
    """
    if _orjson is None:
        return None
    try:
        return _orjson.loads(line)
    except _orjson.JSONDecodeError:
        return None


def _json_loads(
    line: bytes | memoryview, where: str, expected_seq: int, hint: str
) -> Any:
    try:
        return json.loads(line if isinstance(line, bytes) else bytes(line))
    except ValueError as error:
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"not valid JSON ({error}). {hint}"
        ) from None


def _checked(
    data: Any,
    line: bytes | memoryview,
    where: str,
    expected_seq: int,
    prev: str | None,
    hint: str,
) -> tuple[dict[str, Any], str]:
    """*data* (read from *line*) without its ``seq``, ``prev`` and ``hash``,
    and the line's hash; checked against the sequence and the chain."""
    if not isinstance(data, dict):
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"not a JSON object. {hint}"
        )
    seq = data.pop("seq", None)
    if type(seq) is not int:
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"the record has no integer 'seq'. {hint}"
        )
    if seq != expected_seq:
        raise JournalCorrupt(
            f"{where}: sequence number {seq} where {expected_seq} was expected "
            f"(records are missing, duplicated or out of order). {hint}"
        )
    digest = sealed_hash(line)
    if digest is None or data.pop("hash", None) != digest:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: the record does not match its hash "
            f"(it was edited). {hint}"
        )
    claimed_prev = data.pop("prev", None)
    if prev is not None and claimed_prev != prev:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: the hash chain is broken (the record "
            f"before it was removed, replaced or reordered). {hint}"
        )
    return data, digest


def decode_record(
    data: dict[str, Any], where: str, seq: int, hint: str = REPAIR_HINT
) -> Recorded:
    """Record *seq* of the event fields *data* (from :func:`load_record`).

    Raises:
        JournalCorrupt: the fields are not an event (naming *where*).
    """
    try:
        event = decode_event(data)
    except CodecError as error:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: {error}. {hint}"
        ) from None
    return Recorded(seq, event)


#: The start of every record eventjobs writes (compact, ``seq`` first).
_SEQ_PREFIX = re.compile(rb'\{"seq":(0|[1-9][0-9]{0,18}),')


def record_seq(line: bytes) -> int | None:
    """The ``seq`` *line* starts with (read without parsing the rest of a
    possibly long line); None when it does not start as eventjobs writes."""
    match = _SEQ_PREFIX.match(line)
    return int(match[1]) if match else None
