"""Journals: where events are kept. One protocol, several backends."""

from __future__ import annotations

from ._protocol import Journal, Recorded
from .file import FileJournal
from .memory import MemoryJournal

__all__ = ["FileJournal", "Journal", "MemoryJournal", "Recorded"]
