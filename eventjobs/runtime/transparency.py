"""The runtime's verifiable audit trail: the journal's Merkle tree, kept up
to date, its signed checkpoints, receipts and consistency proofs.

The tree (RFC 9162, :mod:`eventjobs.merkle`) has one leaf per durable record,
leaf index = sequence number - 1, the leaf being the record's line exactly
as stored. It grows two ways:

* a file journal tells :meth:`Transparency.feed` the lines of each batch as
  it becomes durable (they are hashed where they were made: no read back);
* :meth:`Transparency.catch_up` reads the stored lines the tree lacks (at
  start-up, all of them; for other backends, whatever the journal gained),
  in a worker thread where the journal's reads block. A pruned journal's
  tree starts from the frontier ``journal prune`` kept of the records it
  removed: the same roots, and proofs of every record that remains.

With a signer key (``--checkpoint-key``) :meth:`run` signs a checkpoint at
most every ``checkpoint_interval`` seconds when the journal grew, and
:meth:`final_checkpoint` one at shutdown. Without one, the tree is built the
first time a receipt or a consistency proof is asked for.

The server never signs a checkpoint that contradicts one it keeps (a tree
smaller than the kept one, or with a different root for that size: the
journal was cut, restored from an older backup, or rewritten): it logs why,
as an error, and signs none. Whoever holds the kept checkpoints sees the
same with ``eventjobs journal verify --checkpoint``.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from ..errors import ConfigError, JournalCorrupt
from ..journal import Journal, NodeJournal
from ..journal.audit_store import AuditStore, origin_of, store_of
from ..merkle import (
    HASH_SIZE,
    LeafHashes,
    consistency_proof,
    encode_hash,
    inclusion_proof,
    leaf_hash,
)
from ..signed_note import NoteError, Signer
from ..tlog_checkpoint import Checkpoint, sign_checkpoint
from .job_leaves import JobLeaves, id_of_line

log = logging.getLogger("eventjobs.audit")


class NoCheckpoint(Exception):
    """No checkpoint was signed yet (so there is nothing to prove against)."""


class OutOfRange(ValueError):
    """Asked for a tree the journal does not have; the message says why."""


def load_signer(path: str) -> Signer:
    """The signer key in the file *path*.

    Raises:
        ConfigError: it cannot be read, or is not a signer key.
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(
            f"cannot read the checkpoint key {path!r}: {error.strerror}; give the "
            "PREFIX.key file 'eventjobs journal keygen' wrote"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"the checkpoint key {path!r} is not a text file") from None
    try:
        return Signer.parse(text)
    except NoteError as error:
        raise ConfigError(
            f"the checkpoint key {path!r} is not a signer key ({error}); give the "
            "PREFIX.key file of 'eventjobs journal keygen', not PREFIX.pub"
        ) from None


class Transparency:
    """The Merkle tree of one runtime's journal; see the module docstring.

    Args:
        journal: gives the runtime's journal once it is open.
        signer: signs checkpoints; None signs none.
        interval: at most this many seconds between checkpoints.
    """

    def __init__(
        self,
        journal: Callable[[], Journal | NodeJournal],
        signer: Signer | None = None,
        interval: float = 10.0,
    ) -> None:
        self._journal = journal
        self.signer = signer
        self.interval = interval
        self.tree = LeafHashes()
        #: The job of every leaf: which lines a receipt needs.
        self.jobs = JobLeaves()
        self._store: AuditStore | None = None
        self._lock = trio.Lock()
        # One signing at a time (the loop, shutdown, a test): each keeps its
        # checkpoint under a name of its own size.
        self._signing = trio.Lock()
        self._origin: str | None = None
        #: The size of the newest checkpoint kept (signed here or found).
        self.signed_size = -1
        #: Why no checkpoint may be signed (the journal contradicts a kept one).
        self.refusal: str | None = None
        self._checked = False
        self._started = False

    @property
    def store(self) -> AuditStore:
        if self._store is None:
            journal = self._journal()
            self._store = store_of(journal)
            observers = getattr(journal, "line_observers", None)
            if observers is not None:
                observers.append(self.feed)
        return self._store

    def feed(self, first_seq: int, lines: Sequence[bytes | bytearray]) -> None:
        """The lines of records *first_seq*, ... just made durable: appended
        to the tree if they follow it (else :meth:`catch_up` reads them)."""
        if not self._started or first_seq != self.tree.size + 1 or self._lock.locked():
            return
        for line in lines:
            self.tree.append_hash(leaf_hash(line))
            self.jobs.append(line)

    async def _blocking(self, call: Callable[[], Any]) -> Any:
        if self.store.blocking:
            return await trio.to_thread.run_sync(call)
        return call()

    async def catch_up(self) -> int:
        """Extend the tree to the journal's durable head; return its size.

        Raises:
            JournalCorrupt: a stored line is missing or damaged (or pruned).

        Cancellation: a read in a worker thread goes on, its result dropped;
        the tree is unchanged.
        """
        async with self._lock:
            store = self.store
            if not self._started:
                start = await self._blocking(store.tree_start)
                if start.size:
                    self.tree = LeafHashes(start=start)
                    self.jobs = JobLeaves(start.size)
                self._started = True
            while self.tree.size < self._journal().head:
                after, upto = self.tree.size, self._journal().head

                def read(
                    after: int = after, upto: int = upto
                ) -> tuple[bytearray, array[int]]:
                    # Two flat buffers, not an object per line: a start-up
                    # read of a million lines stays some 40 MB.
                    hashes, ids = bytearray(), array("q")
                    for line in store.lines(after, upto):
                        hashes += leaf_hash(line)
                        ids.append(id_of_line(line))
                    return hashes, ids

                hashes, ids = await self._blocking(read)
                for at in range(0, len(hashes), HASH_SIZE):
                    self.tree.append_hash(bytes(hashes[at : at + HASH_SIZE]))
                self.jobs.extend(ids)
            if not self._checked:
                self._checked = True
                await self._check_kept()
            return self.tree.size

    async def origin(self) -> str:
        """The origin line: names this journal by its id."""
        if self._origin is None:
            self._origin = origin_of(await self._blocking(self.store.journal_id))
        return self._origin

    async def _check_kept(self) -> None:
        """Compare the newest kept checkpoint with the tree (once, at start)."""
        note = await self._blocking(self.store.latest_checkpoint)
        if note is None:
            return
        try:
            kept = Checkpoint.parse(note[: note.rindex("\n\n") + 1])
        except (NoteError, ValueError) as error:
            self.refusal = f"the newest kept checkpoint does not read ({error})"
        else:
            self.signed_size = kept.size
            if kept.origin != await self.origin():
                self.refusal = (
                    f"the newest kept checkpoint is of another journal ({kept.origin})"
                )
            elif kept.size > self.tree.size:
                self.refusal = (
                    f"the journal has {self.tree.size} records, fewer than the "
                    f"{kept.size} of its newest kept checkpoint (it was cut or "
                    "restored from an older copy)"
                )
            elif kept.size < self.tree.start:
                pass  # pruned past it; journal prune checked it before cutting
            elif self.tree.root(kept.size) != kept.root:
                self.refusal = (
                    f"the journal's first {kept.size} records are not those its newest "
                    "kept checkpoint signed (the journal was rewritten)"
                )
        if self.refusal is not None:
            log.error("no checkpoint will be signed: %s", self.refusal)

    async def sign(self) -> str | None:
        """Sign and keep a checkpoint of the tree now, if it grew since the
        last one; return its note (None: not signed).

        Raises:
            JournalCorrupt: the tree cannot be brought up to date.
        """
        if self.signer is None:
            return None
        async with self._signing:
            size = await self.catch_up()
            if self.refusal is not None or size <= self.signed_size:
                return None
            checkpoint = Checkpoint(await self.origin(), size, self.tree.root(size))
            note = sign_checkpoint(checkpoint, self.signer)
            await self._blocking(lambda: self.store.save_checkpoint(size, note))
            self.signed_size = size
            log.info("checkpoint of %d records signed", size)
            return note

    async def run(self) -> None:
        """Build the tree, then sign a checkpoint every ``interval`` seconds
        when the journal grew. Runs until cancelled; a failure to read or
        keep is logged and tried again next round."""
        while True:
            try:
                await self.sign()
            except Exception as error:  # keep serving jobs; say why
                log.error("checkpoint not signed: %s", error)
            await trio.sleep(self.interval)

    async def final_checkpoint(self) -> None:
        """Sign the last checkpoint at shutdown (errors logged, not raised)."""
        try:
            await self.sign()
        except Exception as error:
            log.error("checkpoint at shutdown not signed: %s", error)

    # -- what the endpoints and commands ask ---------------------------------------

    async def latest(self) -> str:
        """The newest kept checkpoint's note.

        Raises:
            NoCheckpoint: none was kept yet.
        """
        note = await self._blocking(self.store.latest_checkpoint)
        if note is None:
            raise NoCheckpoint("no checkpoint of this journal has been signed yet")
        return str(note)

    async def consistency(self, old: int, new: int) -> list[str]:
        """The RFC 9162 consistency proof from the tree of *old* records to
        the tree of *new* records, as base64 hashes.

        Raises:
            OutOfRange: not ``0 <= old <= new <= head``.
        """
        size = await self.catch_up()
        if not 0 <= old <= new:
            raise OutOfRange(f"from ({old}) must not be above to ({new})")
        if new > size:
            raise OutOfRange(f"the journal has {size} records, fewer than to ({new})")
        if 0 < old < self.tree.start and old != new:
            raise OutOfRange(
                f"records 1 to {self.tree.start} were pruned: consistency proofs start "
                f"at from={self.tree.start} or later"
            )
        return [encode_hash(h) for h in consistency_proof(self.tree, old, new)]

    async def job_lines(self, job_id: int) -> list[tuple[int, bytes]]:
        """The durable records of job *job_id* the journal keeps (a pruned
        prefix has none), as ``(seq, line)``: found in the tree's job index
        and read one by one, never by a scan of the journal.

        Raises:
            JournalCorrupt: a line cannot be read, or is not the one the
                tree holds for its place.

        Cancellation: as :meth:`catch_up`.
        """
        await self.catch_up()
        seqs = self.jobs.seqs(job_id)
        if not seqs:
            return []
        lines: list[bytes] = await self._blocking(lambda: self.store.lines_at(seqs))
        for seq, line in zip(seqs, lines, strict=True):
            if leaf_hash(line) != self.tree.leaf(seq - 1):
                raise JournalCorrupt(
                    f"record {seq} of the journal is not the line the audit trail's "
                    "tree holds for it (the journal was changed under the server)"
                )
        return list(zip(seqs, lines, strict=True))

    async def receipt(
        self, job_id: int, lines: Sequence[tuple[int, bytes]]
    ) -> dict[str, Any]:
        """The receipt of job *job_id* whose kept journal lines are *lines*
        (``(seq, line)``, from :meth:`job_lines`): the newest checkpoint, and
        each record up to it with its line and its inclusion proof in the
        checkpoint's tree. Costs one inclusion proof a record (well under a
        millisecond each in a tree of a million).

        Raises:
            NoCheckpoint: none was kept yet, or none this tree can prove in.
        """
        note = await self.latest()
        checkpoint = Checkpoint.parse(note[: note.rindex("\n\n") + 1])
        size = await self.catch_up()
        if checkpoint.size < self.tree.start:
            raise NoCheckpoint(
                f"the newest checkpoint ({checkpoint.size} records) is older than the "
                f"journal's pruned prefix ({self.tree.start} records); the next one "
                "signed covers the kept records"
            )
        if checkpoint.size > size or self.tree.root(checkpoint.size) != checkpoint.root:
            raise NoCheckpoint(
                "the newest kept checkpoint does not match the journal "
                "(see the server's log)"
            )
        return {
            "job": str(job_id),
            "checkpoint": note,
            "tree_size": checkpoint.size,
            "records": [
                {
                    "seq": seq,
                    "line": line.decode("utf-8"),
                    "proof": [
                        encode_hash(h)
                        for h in inclusion_proof(self.tree, seq - 1, checkpoint.size)
                    ],
                }
                for seq, line in lines
                if self.tree.start < seq <= checkpoint.size
            ],
        }
