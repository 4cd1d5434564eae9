"""Pruning old segments of a file journal, keeping what remains verifiable.

Only whole segments go, oldest first, and only those that

- are not the active (newest) segment,
- end at or before the newest snapshot's position (a start never needs them),
- hold no stored result still waiting to be fetched (its body is read back
  from there on fetch),
- and whose last record is older than the given time.

Before any segment goes, a checkpoint file records the sequence number and
hash of the last pruned record, so the first kept record still chains to
something: verification of what remains starts there. Segments are moved
to an archive directory when one is given (they verify on their own there,
from their own start), deleted otherwise. Safe while a server runs on the
journal: the server only appends to the newest segment.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import attrs

from ..errors import ConfigError
from .lines import parse_record, seal
from .segments import (
    CHECKPOINT_PREFIX,
    CHECKPOINT_SUFFIX,
    checkpoint_name,
    last_line,
    list_segments,
    unpack_location,
)
from .snapshots import fsync_directory, latest_snapshot


@attrs.frozen
class Pruned:
    """What :func:`prune` removed."""

    segments: tuple[Path, ...]
    #: The last sequence number removed (0 when nothing was).
    through_seq: int


def prune(directory: Path, before: float, archive: Path | None = None) -> Pruned:
    """Remove (or move to *archive*) the segments that may go; see the module.

    Raises:
        ConfigError: there is no journal or no snapshot in *directory*, or
            the archive directory cannot be used.
        JournalCorrupt: a record needed to decide or to checkpoint is damaged.
    """
    segments = list_segments(directory)
    if not segments:
        raise ConfigError(f"{directory} holds no journal segments")
    snapshot = latest_snapshot(directory)
    if snapshot is None:
        raise ConfigError(
            f"{directory} has no snapshot yet, so every record is still needed at start; "
            "a server writes one every --snapshot-every records and at a clean shutdown"
        )
    covered = snapshot.position
    # Segments at or after the oldest one holding a live result's body stay.
    # The entries are read a line at a time (a million of them is no burden).
    keep_from: int | None = None
    for job in snapshot.jobs():
        result_at = job.get("result_at")
        if type(result_at) is int:
            segment_first = unpack_location(result_at)[0]
            if keep_from is None or segment_first < keep_from:
                keep_from = segment_first
    chosen: list[tuple[Path, int, str]] = []
    for segment, following in itertools.pairwise(segments):
        last_seq = following.first_seq - 1
        line = last_line(segment.path)
        if line is None or last_seq > covered:
            break
        if keep_from is not None and segment.first_seq >= keep_from:
            break
        where = f"{segment.path}, line {last_seq - segment.first_seq + 1}"
        record, digest = parse_record(line, where, last_seq, None)
        if record.event.time >= before:
            break
        chosen.append((segment.path, last_seq, digest))
    if not chosen:
        return Pruned((), 0)
    _, through_seq, record_hash = chosen[-1]
    checkpoint, _ = seal({"seq": through_seq, "record_hash": record_hash})
    path = directory / checkpoint_name(through_seq)
    path.write_bytes(checkpoint + b"\n")
    fsync_directory(directory)
    if archive is not None:
        try:
            archive.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot create the archive {archive}: {error.strerror}"
            ) from None
    for segment_path, _, _ in chosen:
        if archive is not None:
            shutil.move(segment_path, archive / segment_path.name)
        else:
            segment_path.unlink()
    for old in directory.glob(f"{CHECKPOINT_PREFIX}*{CHECKPOINT_SUFFIX}"):
        if old != path:
            if archive is not None:
                shutil.move(old, archive / old.name)
            else:
                old.unlink()
    fsync_directory(directory)
    if archive is not None:
        fsync_directory(archive)
    return Pruned(tuple(p for p, _, _ in chosen), through_seq)
