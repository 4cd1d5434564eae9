"""A journal record as the core sees it: an event and its sequence number.

A leaf: the projection, the snapshots and retention fold records without
loading any journal backend (the journal package's ``__init__`` loads the
file journal, and with it trio). Journals re-export :class:`Recorded` from
:mod:`eventjobs.journal`.
"""

from __future__ import annotations

import attrs

from .events import Event


@attrs.frozen
class Recorded:
    """An event and the sequence number it has (or will have) in the journal.

    ``location`` says where a backend that stores records outside memory
    keeps this one, so that it can be read back alone (a stored result's body
    is read back on fetch instead of held in memory); None elsewhere. It is
    not part of the record's identity.
    """

    seq: int
    event: Event
    location: int | None = attrs.field(default=None, eq=False)
