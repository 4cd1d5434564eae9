"""The audit store of a journal directory (see ``audit_store.py``). Blocking.

The id in ``journal-id``, the lines in the segments (each checked for its
seal and chain as it is read), the tree's start in the checkpoint file of
the last prune, and the signed checkpoints in ``checkpoints/<size>.txt``
(each written to a new name and renamed, so a reader sees a whole one or
none); single lines are found in their segment by halving it.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import ConfigError, JournalCorrupt
from ..merkle import Frontier
from .audit_base import NoFrontier, checked_line, new_id, seq_of
from .lines import REPAIR_HINT, chained_hash
from .segments import chain_anchor, checkpoint_name, list_segments, prune_point
from .snapshots import fsync_directory

ID_FILE = "journal-id"
CHECKPOINT_DIRECTORY = "checkpoints"
_CHECKPOINT_SUFFIX = ".txt"


class FileAuditStore:
    """A journal directory's (see the module docstring)."""

    blocking = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def journal_id(self, create: bool = True) -> str | None:
        path = self.directory / ID_FILE
        try:
            return _read_id(path)
        except FileNotFoundError:
            if not create:
                return None
        made = new_id()
        try:
            # O_EXCL: of two processes making the id at once, one wins and
            # the other reads the winner's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return _read_id(path)
        except OSError as error:
            raise ConfigError(
                f"cannot create the journal id file {str(path)!r}: {error.strerror}; "
                "make the journal directory writable by this user"
            ) from None
        try:
            os.write(fd, (made + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(self.directory)
        return made

    def tree_start(self) -> Frontier:
        segments = list_segments(self.directory)
        if not segments or segments[0].first_seq == 1:
            return Frontier()
        first = segments[0]
        data = prune_point(self.directory, first)
        path = self.directory / checkpoint_name(first.first_seq - 1)
        if "tree" not in data:
            raise NoFrontier(
                f"{path}: records 1 to {first.first_seq - 1} were pruned by an older "
                "eventjobs that kept no Merkle frontier of them, so the audit trail "
                "cannot rebuild or extend this journal's tree (no checkpoint is signed, "
                "no receipt made); its hash chain still verifies ('eventjobs journal "
                "verify')"
            )
        try:
            frontier = Frontier.from_json(data["tree"])
        except ValueError as error:
            raise JournalCorrupt(
                f"{path}: the Merkle frontier does not read: {error}. {REPAIR_HINT}"
            ) from None
        if frontier.size != first.first_seq - 1:
            raise JournalCorrupt(
                f"{path}: the Merkle frontier is of {frontier.size} records, not of the "
                f"{first.first_seq - 1} pruned. {REPAIR_HINT}"
            )
        return frontier

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        segments = list_segments(self.directory)
        if upto == 0 or (upto is None and not segments):
            return
        first_seq = segments[0].first_seq if segments else 1
        if not segments or after < first_seq - 1:
            raise JournalCorrupt(
                f"{self.directory}: records 1 to "
                f"{(first_seq - 1) if segments else upto} are not in the "
                "journal (pruned); the Merkle tree goes on from the frontier the "
                "prune kept, with the lines after it"
            )
        expected, prev = first_seq, chain_anchor(self.directory, segments[0])
        for segment in segments:
            if segment.first_seq != expected:
                raise JournalCorrupt(
                    f"{segment.path}: the segment should begin at sequence number "
                    f"{expected} (records are missing). {REPAIR_HINT}"
                )
            with segment.path.open("rb") as file:
                for number, raw in enumerate(file, start=1):
                    if not raw.endswith(b"\n"):
                        break  # being written: not durable yet
                    line = raw[:-1]
                    # Every line is checked for its seal and chain (cheap: no
                    # JSON decoding), so the tree never covers damage.
                    digest = chained_hash(line, expected, prev)
                    if digest is None:
                        raise JournalCorrupt(
                            f"{segment.path}, line {number}: record {expected} does not "
                            f"match its hash or does not chain to the one before. "
                            f"{REPAIR_HINT}"
                        )
                    prev = digest
                    if expected > after:
                        yield line
                    if expected == upto:
                        return
                    expected += 1
        if upto is not None:
            raise JournalCorrupt(
                f"{self.directory}: the journal ends at sequence number {expected - 1}, "
                f"before {upto}"
            )

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        segments = list_segments(self.directory)
        firsts = [segment.first_seq for segment in segments]
        found = []
        for seq in seqs:
            at = bisect.bisect_right(firsts, seq) - 1
            if at < 0:
                raise JournalCorrupt(
                    f"{self.directory}: record {seq} is not in the journal (pruned)"
                )
            found.append(find_line(segments[at].path, seq))
        return found

    def save_checkpoint(self, size: int, note: str) -> None:
        folder = self.directory / CHECKPOINT_DIRECTORY
        folder.mkdir(exist_ok=True)
        path = folder / f"{size:020d}{_CHECKPOINT_SUFFIX}"
        temporary = folder / f".{path.name}.{os.getpid()}.new"
        with temporary.open("w", encoding="utf-8") as file:
            file.write(note)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        fsync_directory(folder)

    def latest_checkpoint(self) -> str | None:
        folder = self.directory / CHECKPOINT_DIRECTORY
        try:
            names = sorted(
                name
                for name in os.listdir(folder)
                if name.endswith(_CHECKPOINT_SUFFIX) and not name.startswith(".")
            )
        except FileNotFoundError:
            return None
        if not names:
            return None
        return (folder / names[-1]).read_text(encoding="utf-8")


#: Below this many bytes, find_line reads on instead of halving again.
_SCAN = 1 << 14


def find_line(path: Path, seq: int) -> bytes:
    """The line of record *seq* in the segment *path*, found by halving the
    file by byte offset (records are in sequence order): some fifteen small
    reads for an 8 MiB segment, instead of reading it through.

    Raises:
        JournalCorrupt: it is not there, or its seal or number is wrong.
    """
    with path.open("rb") as file:
        low, high = 0, file.seek(0, os.SEEK_END)
        # The record's line starts in [low, high).
        while high - low > _SCAN:
            middle = (low + high) // 2
            file.seek(middle - 1)
            file.readline()  # to the first line starting at middle or after
            begins = file.tell()
            if begins >= high:
                high = middle
                continue
            number = seq_of(file.readline())
            if number == seq:
                file.seek(begins)
                return checked_line(file.readline().rstrip(b"\n"), seq, str(path))
            if number is not None and number < seq:
                low = begins + 1
            else:
                high = middle
        file.seek(max(low - 1, 0))
        if low:
            file.readline()
        while file.tell() < high:
            raw = file.readline()
            if not raw.endswith(b"\n"):
                break
            if seq_of(raw) == seq:
                return checked_line(raw[:-1], seq, str(path))
    raise JournalCorrupt(f"{path}: record {seq} is not in its segment. {REPAIR_HINT}")


def _read_id(path: Path) -> str:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not text or not text.isalnum() or len(text) > 64:
        raise JournalCorrupt(f"{path}: not a journal id (hex digits). {REPAIR_HINT}")
    return text
