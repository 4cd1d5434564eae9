"""Pruning old segments of a file journal, keeping what remains verifiable.

Only whole segments go, oldest first, and only those that

- are not the active (newest) segment,
- end at or before the newest snapshot's position (a start never needs them),
- hold no stored result still waiting to be fetched (its body is read back
  from there on fetch),
- and whose last record is older than the given time.

Before any segment goes, a checkpoint file records the sequence number and
hash of the last pruned record, so the first kept record still chains to
something: verification of what remains starts there. It also keeps the
right frontier of the audit trail's Merkle tree over the pruned records
(``tree``: one hash per set bit of their count), which is all the tree
needs to go on: its root, inclusion proofs of every remaining record and
consistency proofs from every size at or past the cut are those of the
whole journal's tree. Making it reads the pruned lines once (from the
previous prune's frontier on), and checks them against the newest signed
checkpoint kept with the journal when that falls among them: a journal that
contradicts what was signed is not pruned (that would hide the evidence). Segments are moved
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
from ..merkle import Frontier
from ..signed_note import NoteError
from ..tlog_checkpoint import Checkpoint
from .audit_base import NoFrontier
from .file_audit_store import FileAuditStore
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
    #: Whether the Merkle frontier at the cut was kept (False only when an
    #: older prune had already dropped the tree: see ``NoFrontier``).
    tree_kept: bool = True


def prune(directory: Path, before: float, archive: Path | None = None) -> Pruned:
    """Remove (or move to *archive*) the segments that may go; see the module.

    Raises:
        ConfigError: there is no journal or no snapshot in *directory*, the
            archive directory cannot be used, or the records to prune
            contradict the newest signed checkpoint kept with the journal.
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
    point: dict[str, object] = {"seq": through_seq, "record_hash": record_hash}
    frontier = _frontier_at(directory, through_seq)
    if frontier is not None:
        point["tree"] = frontier.to_json()
    checkpoint, _ = seal(point)
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
    return Pruned(tuple(p for p, _, _ in chosen), through_seq, frontier is not None)


def _frontier_at(directory: Path, through_seq: int) -> Frontier | None:
    """The Merkle frontier of records 1 to *through_seq* (None when an older
    prune kept none), checked against the newest kept signed checkpoint.

    Raises:
        ConfigError: the records contradict that checkpoint.
        JournalCorrupt: a line is damaged.
    """
    store = FileAuditStore(directory)
    try:
        frontier = store.tree_start()
    except NoFrontier:
        return None
    kept = _newest_signed(store)
    for line in store.lines(frontier.size, through_seq):
        frontier.append(line)
        if (
            kept is not None
            and frontier.size == kept.size
            and frontier.root() != kept.root
        ):
            raise ConfigError(
                f"records 1 to {kept.size} are not those the newest signed checkpoint "
                "kept with the journal covers (the journal was rewritten): nothing "
                "pruned, so the evidence stays; see 'eventjobs journal verify "
                "--checkpoint'"
            )
    return frontier


def _newest_signed(store: FileAuditStore) -> Checkpoint | None:
    note = store.latest_checkpoint()
    if note is None:
        return None
    try:
        return Checkpoint.parse(note[: note.rindex("\n\n") + 1])
    except (NoteError, ValueError):
        return None  # the server refuses to sign on; prune needs not judge it
