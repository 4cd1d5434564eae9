"""Journals: where events are kept. One protocol, several backends.

:func:`open_journal` chooses the backend from where the journal is (memory,
a directory, a ``postgresql://`` URL); psycopg is imported only when a
PostgreSQL journal is opened.
"""

from __future__ import annotations

from ._protocol import Journal, Judged, NodeJournal, Recorded, TakenJob
from .file import FileJournal
from .memory import MemoryJournal
from .opening import (
    InMemory,
    JournalLocation,
    describe_location,
    open_journal,
    parse_location,
)

__all__ = [
    "FileJournal",
    "InMemory",
    "Journal",
    "JournalLocation",
    "Judged",
    "MemoryJournal",
    "NodeJournal",
    "Recorded",
    "TakenJob",
    "describe_location",
    "open_journal",
    "parse_location",
]
