"""``eventjobs journal copy SRC DST``: a journal from one backend to another.

SRC and DST are each a journal directory or a ``postgresql://`` URL. The
source is read as the audit commands read it (every seal and link of the hash
chain checked, as a bystander: a server may be running on it; a last line
still being written is left out). The destination is opened as a server
opens it (its lock taken, so no server may run on it) and must be empty.
Records are appended in batches through the journal protocol, and the copy
stops at the first record whose line in the destination would differ from
the source's (its hash is compared), so a finished copy holds identical
lines and verifies the same. Snapshots are not copied: a server starting on
the copy replays it and writes its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import trio

from ..errors import ConfigError, JournalCorrupt, JournalUnavailable
from ..journal import Journal, Recorded, open_journal
from ..journal.pg_url import redact
from ..settings import Settings
from .reading import NoJournal, Scan, Source, source_of

#: Records per appended batch (one transaction, or one write and fsync).
BATCH = 1000


class CannotCopy(Exception):
    """The copy was refused or stopped; the message says why."""


def add_command(journal_commands: argparse._SubParsersAction) -> None:
    parser = journal_commands.add_parser(
        "copy",
        help="copy a journal between a directory and PostgreSQL (either way), verifying it",
        # The module docstring, as plain text: no reStructuredText markup.
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
    )
    parser.add_argument(
        "source", metavar="SRC", help="journal directory or postgresql:// URL"
    )
    parser.add_argument(
        "destination",
        metavar="DST",
        help="an empty (or new) journal directory or postgresql:// URL",
    )


def run(args: argparse.Namespace) -> int:
    try:
        count, last = trio.run(copy, source_of(args.source), args.destination)
    except (
        CannotCopy,
        NoJournal,
        JournalCorrupt,
        JournalUnavailable,
        ConfigError,
        OSError,
    ) as error:
        print(f"eventjobs journal copy: {error}", file=sys.stderr)
        return 1
    print(
        f"copied {count} records from {redact(args.source)} to {redact(args.destination)}; "
        f"hash chain verified, last hash {last}"
    )
    return 0


async def copy(source: Source, destination: str) -> tuple[int, str]:
    """Copy every record of *source* into the empty journal *destination*.

    Returns:
        The number of records and the hash of the last one.

    Raises:
        CannotCopy: the destination is not empty, the source was pruned, or
            a record would not be copied byte for byte.
        NoJournal, JournalCorrupt: the source is missing or damaged (the
            destination then holds the records before the damage).
        ConfigError: either location cannot be used.
    """
    journal = await trio.to_thread.run_sync(open_destination, destination)
    try:
        if journal.head != 0:
            raise CannotCopy(
                f"the destination {redact(destination)} already holds {journal.head} records; "
                "copy into a new directory or an unused ?schema=NAME"
            )
        scan = Scan(source)
        batches = _batches(scan)
        count, last = 0, ""
        while True:
            batch = await trio.to_thread.run_sync(next, batches, None)
            if batch is None:
                return count, last
            records, digest = batch
            await journal.append(records)
            written = journal.last_hash  # type: ignore[attr-defined]
            if written != digest:
                raise CannotCopy(
                    f"record {records[-1].seq} (or one before it in its batch of "
                    f"{len(records)}) would not be copied byte for byte (it was written by "
                    "an older eventjobs, in a shape this one writes differently); the "
                    "copy is incomplete, remove it"
                )
            count, last = records[-1].seq, digest
    finally:
        await journal.aclose()


def open_destination(destination: str) -> Journal:
    """The journal *destination* names, opened as its only writer. Blocking."""
    return open_journal(source_of(destination), segment_bytes=Settings().segment_bytes)


def _batches(scan: Scan) -> Iterator[tuple[list[Recorded], str]]:
    """The source's records in batches, each with the hash of its last record."""
    batch: list[Recorded] = []
    for entry in scan:
        if entry.record.seq == scan.first_seq and scan.first_seq != 1:
            raise CannotCopy(
                f"the source {scan.directory} was pruned (it starts at sequence number "
                f"{scan.first_seq}); a copy needs the whole journal"
            )
        batch.append(entry.record)
        if len(batch) == BATCH:
            yield batch, scan.last_hash
            batch = []
    if batch:
        yield batch, scan.last_hash
