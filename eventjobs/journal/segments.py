"""Reading the file journal's segments: listing, anchoring, seeking. Blocking.

Records live in segment files named after their first sequence number. The
chain starts either at the first record (``prev`` is 64 zeros) or, once old
segments have been pruned, at a checkpoint file that holds the hash of the
last pruned record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from ..errors import JournalCorrupt
from ._protocol import Recorded
from .lines import (
    GENESIS_HASH,
    REPAIR_HINT,
    chained_hash,
    decode_record,
    load_record,
    parse_record,
    record_seq,
    sealed_hash,
)

SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl"
CHECKPOINT_PREFIX = "checkpoint-"
CHECKPOINT_SUFFIX = ".json"


#: A location packs a segment's first sequence number and a byte offset in
#: it into one int (one small object per stored result, not a tuple).
_OFFSET_BITS = 40


def location(first_seq: int, offset: int) -> int:
    """Where a record lies: in segment *first_seq*, at byte *offset*."""
    return (first_seq << _OFFSET_BITS) | offset


def unpack_location(packed: int) -> tuple[int, int]:
    """``(segment first seq, byte offset)`` of a :func:`location`."""
    return packed >> _OFFSET_BITS, packed & ((1 << _OFFSET_BITS) - 1)


def segment_name(first_seq: int) -> str:
    return f"{SEGMENT_PREFIX}{first_seq:020d}{SEGMENT_SUFFIX}"


def checkpoint_name(seq: int) -> str:
    return f"{CHECKPOINT_PREFIX}{seq:020d}{CHECKPOINT_SUFFIX}"


@attrs.frozen
class Segment:
    path: Path
    #: The sequence number of its first record (from its name).
    first_seq: int


def list_segments(directory: Path) -> list[Segment]:
    """The segments of *directory*, in sequence order.

    Raises:
        JournalCorrupt: a file looks like a segment but its name is malformed.
    """
    segments = []
    for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"):
        number = path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
        if not (number.isascii() and number.isdigit() and int(number) >= 1):
            raise JournalCorrupt(
                f"{path}: not a segment name eventjobs writes. {REPAIR_HINT}"
            )
        segments.append(Segment(path, int(number)))
    return sorted(segments, key=lambda segment: segment.first_seq)


def segment_paths(directory: Path) -> list[Path]:
    """The segment files of *directory*, in sequence order."""
    return [segment.path for segment in list_segments(directory)]


def chain_anchor(directory: Path, first: Segment) -> str:
    """The hash the first remaining record must chain to.

    Raises:
        JournalCorrupt: records before *first* are gone without a checkpoint.
    """
    if first.first_seq == 1:
        return GENESIS_HASH
    return str(prune_point(directory, first)["record_hash"])


def prune_point(directory: Path, first: Segment) -> dict[str, Any]:
    """The checkpoint file ``journal prune`` left for the records before
    *first* (its members, seal checked; ``record_hash`` is a string).

    Raises:
        JournalCorrupt: there is none, or it is damaged.
    """
    path = directory / checkpoint_name(first.first_seq - 1)
    try:
        line = path.read_bytes().rstrip(b"\n")
    except FileNotFoundError:
        raise JournalCorrupt(
            f"{first.path}: the journal starts at sequence number {first.first_seq}, but "
            f"there is no checkpoint {path.name} for the records before it (segments "
            f"were removed by hand, not pruned). {REPAIR_HINT}"
        ) from None
    digest = sealed_hash(line)
    data = json.loads(line) if digest is not None else None
    if not isinstance(data, dict) or data.get("seq") != first.first_seq - 1:
        raise JournalCorrupt(
            f"{path}: the checkpoint does not match its hash. {REPAIR_HINT}"
        )
    if not isinstance(data.get("record_hash"), str):
        raise JournalCorrupt(
            f"{path}: the checkpoint has no record_hash. {REPAIR_HINT}"
        )
    return data


def read_records(directory: Path, after: int = 0) -> Iterator[Recorded]:
    """Yield the records of the journal in *directory* with ``seq > after``.

    Every record after *after* is checked in full (JSON, sequence, hash,
    chain, event shape); those before it in the same segment are checked for
    their seal and chain only (no decoding), which still catches any edit,
    removal or reordering there. Earlier segments are not read, except the
    last line of the one just before (for its hash): reading the tail of a
    long journal costs one segment plus the tail, however long the history.

    Raises:
        JournalCorrupt: naming the file, line, sequence number and the damage;
            also when records up to *after* were pruned away.
    """
    segments = list_segments(directory)
    if not segments:
        return
    first = segments[0]
    if after < first.first_seq - 1:
        chain_anchor(directory, first)  # missing records without a checkpoint: damage
        raise JournalCorrupt(
            f"{directory}: records 1 to {first.first_seq - 1} were pruned; the journal "
            f"can only be read from sequence number {first.first_seq} on"
        )
    start = max(
        i for i, segment in enumerate(segments) if segment.first_seq <= after + 1
    )
    prev = _hash_before(directory, segments, start)
    expected_seq = segments[start].first_seq
    for segment in segments[start:]:
        if segment.first_seq != expected_seq:
            raise JournalCorrupt(
                f"{segment.path}: the segment should begin at sequence number "
                f"{expected_seq} (records are missing). {REPAIR_HINT}"
            )
        # Per segment, not per record: the names in messages cost per event.
        place = f"{segment.path}, line "
        for number, offset, line in _lines(segment.path):
            if expected_seq <= after:
                # Only checked, not decoded: seal and chain, which is what
                # makes damage visible, at a fraction of the cost.
                checked = chained_hash(line, expected_seq, prev)
                if checked is not None:
                    prev = checked
                    expected_seq += 1
                    continue
            record, prev = parse_record(line, place + str(number), expected_seq, prev)
            expected_seq += 1
            if record.seq > after:
                # Built, not attrs.evolve'd: this runs for every event replayed.
                yield Recorded(
                    record.seq, record.event, location(segment.first_seq, offset)
                )


def _hash_before(directory: Path, segments: list[Segment], index: int) -> str:
    """The hash the first record of ``segments[index]`` must chain to."""
    if index == 0:
        return chain_anchor(directory, segments[0])
    before = segments[index - 1]
    line = last_line(before.path)
    seq = segments[index].first_seq - 1
    if line is None:
        raise JournalCorrupt(f"{before.path}: the segment is empty. {REPAIR_HINT}")
    where = f"{before.path}, line {seq - before.first_seq + 1}"
    return parse_record(line, where, seq, None)[1]


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, line without newline) of *path*."""
    offset = 0
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            start, offset = offset, offset + len(line)
            if not line.endswith(b"\n"):
                raise JournalCorrupt(
                    f"{path}, line {number}: the last record is incomplete (the journal "
                    "is being written, or a crash tore it); the server cuts such a "
                    "record off when it starts"
                )
            yield number, start, line[:-1]


def read_at(directory: Path, packed: int) -> Recorded:
    """The record at *packed* (a :func:`location`), checked against its hash.

    A stored result may be big: its line is let go once checked, before the
    body is decoded, so the fetch holds the line or the body, not both twice.

    Raises:
        JournalCorrupt: the segment or the line is not there, or is damaged.
    """
    first_seq, offset = unpack_location(packed)
    path = directory / segment_name(first_seq)
    where = f"{path}, byte {offset}"
    line = _line_at(path, offset)
    seq = record_seq(line)
    if seq is None:  # not as eventjobs writes it: let JSON say where seq is
        try:
            seq = json.loads(line)["seq"]
        except (ValueError, KeyError, TypeError):
            raise JournalCorrupt(
                f"{where}: no journal record starts here. {REPAIR_HINT}"
            ) from None
    # A view without the newline: a copy of a big line would be one more.
    view = memoryview(line)[: -1 if line.endswith(b"\n") else None]
    data, _digest, fast = load_record(view, where, seq, None)
    del line, view
    try:
        record = decode_record(data, where, seq)
    except JournalCorrupt:
        if not fast:
            raise
        # What orjson read does not decode: json's reading has the verdict.
        record, _digest = parse_record(
            _line_at(path, offset).rstrip(b"\n"), where, seq, None
        )
    return attrs.evolve(record, location=packed)


def _line_at(path: Path, offset: int) -> bytes:
    """The line of *path* at byte *offset* (with its newline)."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.readline()
    except FileNotFoundError:
        raise JournalCorrupt(
            f"{path}: the segment holding a stored result is missing. {REPAIR_HINT}"
        ) from None


#: How much :func:`last_line` reads per step backwards.
_STEP = 1 << 16


def last_line(path: Path) -> bytes | None:
    """The last complete line of *path* (without newline), read backwards;
    None when it has none. A torn final fragment is not a complete line.

    Linear in the length of the line (and of a torn fragment after it): the
    steps backwards look for newlines in each new block only and keep no
    block, then the line is read once, so a line of many MiB (a big body)
    costs two reads of it and one copy in memory, not a rescan per step.
    """
    with path.open("rb") as file:
        position = file.seek(0, os.SEEK_END)
        end: int | None = None  # where the newline ending the last line is
        start = 0
        block = b""
        while position > 0:
            step = min(_STEP, position)
            position -= step
            file.seek(position)
            block = file.read(step)
            if end is None:
                found = block.rfind(b"\n")
                if found < 0:
                    continue  # still in the torn fragment
                end = position + found
                before = block.rfind(b"\n", 0, found)
            else:
                before = block.rfind(b"\n")
            if before >= 0:
                start = position + before + 1
                break
        if end is None:
            return None
        if start >= position and end < position + len(block):
            return block[start - position : end - position]  # a short line
        file.seek(start)
        return file.read(end - start)
