"""Choosing a journal backend from where the journal is: the one place that does.

A journal location (``--journal``, ``journal copy SRC DST``, ...) is one of:

- ``:memory:``: the in-memory journal (nothing survives the process);
- ``postgresql://...`` or ``postgres://...``: a PostgreSQL journal
  (:mod:`eventjobs.journal.pg_url`);
- anything else without a URL scheme: a journal directory.

A location with any other URL scheme (``mysql://``, ``s3://``, ...) is
refused with a message listing the ones there are, rather than taken for a
directory of that odd name. psycopg is imported only when a PostgreSQL
journal is actually opened.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, overload

import attrs

from ..errors import ConfigError
from ..settings import MEMORY_JOURNAL
from ._protocol import Journal, NodeJournal
from .file import DEFAULT_SEGMENT_BYTES, FileJournal
from .memory import MemoryJournal
from .pg_node import PostgresNodeJournal
from .pg_url import PostgresLocation, is_postgres_url, parse_postgres_url, redact
from .postgres import PostgresJournal

__all__ = [
    "InMemory",
    "JournalLocation",
    "describe_location",
    "foreign_files",
    "open_journal",
    "parse_location",
    "refuse_foreign_directory",
]

#: A URL scheme at the start of a location ("name://").
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@attrs.frozen
class InMemory:
    """The in-memory journal's location (``:memory:``)."""

    def __str__(self) -> str:
        return MEMORY_JOURNAL


#: Where a journal is.
JournalLocation = InMemory | Path | PostgresLocation


def parse_location(
    location: str | os.PathLike[str] | JournalLocation,
) -> JournalLocation:
    """The journal *location* names (one already parsed is returned as it is). No I/O.

    Raises:
        ConfigError: a PostgreSQL URL that does not parse, or a URL of a
            scheme no backend has; the message names it (redacted).
    """
    if isinstance(location, (InMemory, Path, PostgresLocation)):
        return location
    text = os.fspath(location)
    if text == MEMORY_JOURNAL:
        return InMemory()
    if is_postgres_url(text):
        return parse_postgres_url(text)
    scheme = _SCHEME.match(text)
    if scheme is not None:
        raise ConfigError(
            f"the journal {redact(text)!r} has the scheme {scheme.group(1) + '://'!r}, which no "
            "journal backend has; give a journal directory, a postgresql:// URL "
            f"(postgresql://USER@HOST/DATABASE?schema=NAME) or {MEMORY_JOURNAL}"
        )
    return Path(text)


def describe_location(location: str | os.PathLike[str] | JournalLocation) -> str:
    """How messages name the journal at *location*: safe to print (no
    password), a directory by its absolute path.

    Raises:
        ConfigError: as :func:`parse_location`.
    """
    parsed = parse_location(location)
    if isinstance(parsed, InMemory):
        return "in memory (nothing survives a restart)"
    if isinstance(parsed, PostgresLocation):
        return parsed.redacted
    return repr(os.path.abspath(parsed))


#: What a journal directory holds: the files a journal writes.
_JOURNAL_FILES = re.compile(r"LOCK$|segment-|snapshot-|checkpoint-")


def foreign_files(directory: Path) -> list[str]:
    """The names of what *directory* holds when that is files but no
    journal; ``[]`` when it is missing, empty or a journal (whatever else
    it holds beside). A ``README.md`` and hidden files (``.gitkeep``) do
    not count: the repository's ``journal/`` holds a README. Blocking."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    if any(_JOURNAL_FILES.match(name) for name in names):
        return []
    return [name for name in names if name != "README.md" and not name.startswith(".")]


def listed(names: list[str], shown: int = 5) -> str:
    """*names* for a message: the first few, then how many more."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def refuse_foreign_directory(
    location: str | os.PathLike[str] | JournalLocation,
) -> None:
    """Refuse to start a journal among someone else's files: *location*,
    when it is a directory, must be missing, empty or a journal. Blocking.

    Raises:
        ConfigError: it holds files but no journal; the message names a few.
    """
    parsed = parse_location(location)
    if not isinstance(parsed, Path):
        return
    names = foreign_files(parsed)
    if names:
        raise ConfigError(
            f"the directory {str(parsed)!r} holds files but no journal "
            f"({listed(names)}); give --journal an empty or new directory or an "
            "existing journal, or add --create to start a journal among those files"
        )


@overload
def open_journal(
    location: str | os.PathLike[str] | JournalLocation,
    *,
    shared: Literal[False] = False,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    pool_size: int = 4,
) -> Journal: ...


@overload
def open_journal(
    location: str | os.PathLike[str] | JournalLocation,
    *,
    shared: bool,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    pool_size: int = 4,
) -> Journal | NodeJournal: ...


def open_journal(
    location: str | os.PathLike[str] | JournalLocation,
    *,
    shared: bool = False,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    pool_size: int = 4,
) -> Journal | NodeJournal:
    """Open the journal at *location* with the backend it names.

    *shared*: open it as a server does, one among any number sharing it
    where the backend allows that: a PostgreSQL journal then opens as a
    :class:`NodeJournal` (no lock; join it before appending). A memory or
    directory journal has a single writer either way, and opens as a
    :class:`Journal`. Without *shared* (a copy, a benchmark, a test) a
    PostgreSQL journal opens as its exclusive writer, holding its lock.

    *segment_bytes*: for a journal directory, where a new segment starts.
    *pool_size*: for PostgreSQL, the most connections open at once.

    Blocking (except for memory): call it before serving or from a worker thread.

    Raises:
        ConfigError: the location cannot be used (unknown scheme, bad URL,
            unreachable server, a directory it cannot create, psycopg not
            installed, ...); the message says what to do.
        JournalInUse: another process holds the journal.
        JournalCorrupt: the journal's last record does not read back.
    """
    parsed = parse_location(location)
    if isinstance(parsed, InMemory):
        return MemoryJournal()
    if isinstance(parsed, PostgresLocation):
        if shared:
            return PostgresNodeJournal.open(parsed, pool_size=pool_size)
        return PostgresJournal.open(parsed, pool_size=pool_size)
    return FileJournal.open(parsed, segment_bytes=segment_bytes)
