"""Whole numbers typed on the command line: job ids and counts. Pure.

Python's ``int()`` accepts any Unicode digits and refuses more than 4300 of
them with a message about its own limits; these parse ASCII digits only,
and say in the user's terms what is wrong.
"""

from __future__ import annotations

from typing import Final

#: Job ids are whole numbers from 1 to this (a PostgreSQL ``bigint``).
MAX_JOB_ID: Final = 2**63 - 1

#: The longest text shown back whole in a message.
SHOWN_CHARS: Final = 40


def shown(text: str) -> str:
    """*text* quoted for a message, cut short if long (a 5000-digit number
    is not echoed whole)."""
    if len(text) <= SHOWN_CHARS:
        return repr(text)
    return f"{text[:20]!r}... ({len(text)} characters)"


def is_digits(text: str) -> bool:
    """Whether *text* is ASCII digits only (and not empty)."""
    return text.isascii() and text.isdigit()


def parse_job_id(text: str) -> int:
    """The job id *text* names.

    Raises:
        ValueError: it is not one, saying what ids are.
    """
    if (
        not is_digits(text)
        or text[0] == "0"
        or len(text) > 19
        or int(text) > MAX_JOB_ID
    ):
        raise ValueError(
            f"{shown(text)} is not a job id: ids are whole numbers from 1, as submit prints them"
        )
    return int(text)


def parse_count(text: str) -> int | None:
    """A count of 1 or more; one with more digits than any list can have
    reads as the largest count. None when *text* is not such a number."""
    if not is_digits(text):
        return None
    if len(text) > 18:
        return MAX_JOB_ID
    return int(text) if int(text) >= 1 else None
