"""The verifiable audit trail, read from a journal directory or PostgreSQL
journal without a server: its Merkle tree, an offline checkpoint, a job's
receipt, and whether the journal extends a checkpoint an auditor kept.
Blocking.

The tree is the server's (runtime/transparency.py): one leaf per record,
the record's line exactly as stored, leaf index = sequence number - 1. Every
line is checked for its seal and hash chain while the tree is built, so a
damaged journal is reported as damaged, not merely as "different". A pruned
journal's tree starts from the frontier ``journal prune`` kept: checkpoints
and receipts of what remains are those of the whole journal, but a
checkpoint older than the cut can no longer be checked against it (check
it against the archive the pruned segments went to).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from ..journal.audit_store import AuditStore, origin_of, store_of
from ..merkle import (
    InvalidProof,
    LeafHashes,
    consistency_proof,
    encode_hash,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
)
from ..signed_note import NoteError, Signer, Verifier
from ..tlog_checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from .reading import NoJournal, Source


class TrailError(Exception):
    """The audit trail does not hold, or cannot be read; the message is one
    sentence saying what and what it means."""


def _store(source: Source) -> AuditStore:
    if isinstance(source, Path) and not source.is_dir():
        raise NoJournal(f"there is no journal directory at {str(source)!r}")
    return store_of(source)


def build_tree(store: AuditStore) -> LeafHashes:
    """The tree of every whole line *store* holds (chain checked), from the
    frontier a prune kept."""
    start = store.tree_start()
    return LeafHashes(
        (leaf_hash(line) for line in store.lines(start.size, None)), start=start
    )


def _pruned_past(tree: LeafHashes, checkpoint: Checkpoint) -> str | None:
    if 0 < checkpoint.size < tree.start:
        return (
            f"the checkpoint ({checkpoint.size} records) is older than the journal's "
            f"pruned prefix (records 1 to {tree.start} were pruned), so it can no "
            "longer be checked against it: check it against the archive the pruned "
            "segments went to"
        )
    return None


def sign_offline(source: Source, signer: Signer) -> str:
    """Sign a checkpoint of the journal at *source* as it is now, keep it
    beside the journal (as the server keeps its own), and return it.

    Raises:
        TrailError: the journal contradicts the newest checkpoint kept with it.
    """
    store = _store(source)
    tree = build_tree(store)
    journal_id = store.journal_id()
    assert journal_id is not None
    kept = store.latest_checkpoint()
    if kept is not None:
        # As the server: never sign a history that contradicts one signed before.
        before = checkpoint_body(kept)
        if _pruned_past(tree, before) is not None:
            pass  # journal prune checked it before cutting
        elif before.size > tree.size or tree.root(before.size) != before.root:
            raise TrailError(
                f"the journal ({tree.size} records) does not extend its newest kept "
                f"checkpoint ({before.size} records): it was cut, rolled back or "
                "rewritten; no checkpoint signed (see 'eventjobs journal verify "
                "--checkpoint')"
            )
    note = sign_checkpoint(
        Checkpoint(origin_of(journal_id), tree.size, tree.root()), signer
    )
    store.save_checkpoint(tree.size, note)
    return note


def checkpoint_body(note: str) -> Checkpoint:
    """The checkpoint of a signed note, its signature not checked."""
    split = note.rfind("\n\n")
    if split < 0:
        raise TrailError("the checkpoint is not a signed note (no blank line)")
    try:
        return Checkpoint.parse(note[: split + 1])
    except NoteError as error:
        raise TrailError(f"the checkpoint does not read: {error}") from None


def receipt_of(source: Source, job_id: int) -> dict[str, Any]:
    """The receipt of job *job_id* against the newest checkpoint kept with
    the journal at *source* (the JSON of ``GET /_eventjobs/jobs/{id}/receipt``).

    Raises:
        TrailError: no checkpoint is kept, it does not match the journal, or
            the journal holds no record of the job up to it.
    """
    store = _store(source)
    note = store.latest_checkpoint()
    if note is None:
        raise TrailError(
            "no checkpoint is kept with this journal: start the server with "
            "--checkpoint-key, or sign one with 'eventjobs journal checkpoint DIR --key "
            "PREFIX.key'"
        )
    checkpoint = checkpoint_body(note)
    start = store.tree_start()
    tree = LeafHashes(start=start)
    found: list[tuple[int, str]] = []
    pruned = _pruned_past(tree, checkpoint)
    if pruned is not None:
        raise TrailError(
            f"{pruned}; sign a newer one with 'eventjobs journal checkpoint'"
        )
    for seq, line in enumerate(store.lines(start.size, None), start=start.size + 1):
        tree.append(line)
        if seq <= checkpoint.size and json.loads(line).get("job") == job_id:
            found.append((seq, line.decode("utf-8")))
    if tree.size < checkpoint.size or tree.root(checkpoint.size) != checkpoint.root:
        raise TrailError(
            f"the newest kept checkpoint ({checkpoint.size} records) does not match the "
            "journal: check it with 'eventjobs journal verify --checkpoint'"
        )
    if not found:
        raise TrailError(
            f"the journal holds no record of job {job_id} up to its newest checkpoint "
            f"({checkpoint.size} records)"
            + (f" after its pruned records 1 to {start.size}" if start.size else "")
        )
    return {
        "job": str(job_id),
        "checkpoint": note,
        "tree_size": checkpoint.size,
        "records": [
            {
                "seq": seq,
                "line": line,
                "proof": [
                    encode_hash(h)
                    for h in inclusion_proof(tree, seq - 1, checkpoint.size)
                ],
            }
            for seq, line in found
        ],
    }


@attrs.frozen
class Extends:
    """The journal extends the checkpoint: its size, and the journal's."""

    checkpoint: Checkpoint
    size: int


def check_extends(source: Source, note: str, verifiers: Iterable[Verifier]) -> Extends:
    """Check that the journal at *source* extends the signed checkpoint
    *note*: same journal, at least as many records, the same root for the
    checkpoint's size (proved with a consistency proof, as a monitor would).

    Raises:
        TrailError: it does not, naming what happened (truncated, rolled
            back or rewritten, another journal, a bad signature).
        JournalCorrupt: the journal is damaged (its chain does not hold).
    """
    try:
        checkpoint = open_checkpoint(note, verifiers)
    except NoteError as error:
        raise TrailError(f"the checkpoint is not signed by that key: {error}") from None
    store = _store(source)
    journal_id = store.journal_id(create=False)
    if journal_id is None or origin_of(journal_id) != checkpoint.origin:
        raise TrailError(
            f"the checkpoint is of the journal {checkpoint.origin!r}, and this journal "
            f"is {origin_of(journal_id) if journal_id else 'one without an id'!r}: "
            "another journal, or this one's id file was replaced"
        )
    tree = build_tree(store)
    pruned = _pruned_past(tree, checkpoint)
    if pruned is not None:
        raise TrailError(pruned)
    if tree.size < checkpoint.size:
        raise TrailError(
            f"TRUNCATED: the journal has {tree.size} records, fewer than the "
            f"{checkpoint.size} the checkpoint signed: records were cut off, or the "
            "journal was rolled back to an older copy"
        )
    if tree.root(checkpoint.size) != checkpoint.root:
        raise TrailError(
            f"REWRITTEN: the journal's first {checkpoint.size} records are not the ones "
            "the checkpoint signed (a different root for the same size): the journal was "
            "rewritten, or rolled back and written again"
        )
    proof = consistency_proof(tree, checkpoint.size, tree.size)
    try:
        verify_consistency(
            checkpoint.size, tree.size, proof, checkpoint.root, tree.root()
        )
    except InvalidProof as error:  # cannot happen for a tree built here
        raise TrailError(f"the consistency proof does not hold: {error}") from None
    return Extends(checkpoint, tree.size)
