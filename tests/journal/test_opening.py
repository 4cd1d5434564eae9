"""open_journal: the one place that chooses a journal backend from a location
(memory and directory here; PostgreSQL in tests/postgres/test_opening.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eventjobs.errors import ConfigError
from eventjobs.events import JobQueued, RecordedRequest
from eventjobs.journal import (
    FileJournal,
    InMemory,
    MemoryJournal,
    NodeJournal,
    Recorded,
    describe_location,
    open_journal,
    parse_location,
)
from eventjobs.journal.segments import segment_paths


def big(job_id: int) -> JobQueued:
    request = RecordedRequest(method="PUT", path="/x", body=b"x" * 5000)
    return JobQueued(job_id=job_id, time=1.0, owner=None, store=True, request=request)


@pytest.mark.parametrize("shared", [False, True])
async def test_memory_opens_the_in_memory_journal(shared):
    journal = open_journal(":memory:", shared=shared)
    try:
        assert isinstance(journal, MemoryJournal)
        assert not isinstance(journal, NodeJournal)  # one writer, shared or not
    finally:
        await journal.aclose()


@pytest.mark.parametrize("shared", [False, True])
async def test_a_path_opens_a_file_journal_there(tmp_path, shared):
    for location in (tmp_path / "a", str(tmp_path / "b")):
        journal = open_journal(location, shared=shared, segment_bytes=4096)
        try:
            assert isinstance(journal, FileJournal)
            assert not isinstance(journal, NodeJournal)
            assert journal.directory == Path(location)
            # segment_bytes reaches it: a batch past 4096 bytes ends a segment.
            for seq in (1, 2, 3):
                await journal.append([Recorded(seq, big(seq))])
        finally:
            await journal.aclose()
        assert len(segment_paths(Path(location))) == 3


@pytest.mark.parametrize(
    "location",
    ["mysql://ann:secret@db.example/jobs", "s3://bucket/journal", "File://x"],
)
def test_an_unknown_scheme_is_refused_with_what_there_is(
    tmp_path, monkeypatch, location
):
    """Not taken for a directory of that odd name: a message naming the
    scheme (never the password) and the locations there are."""
    monkeypatch.chdir(tmp_path)
    scheme = location.split("://")[0] + "://"
    with pytest.raises(ConfigError) as raised:
        open_journal(location)
    message = str(raised.value)
    assert f"the scheme {scheme!r}" in message
    assert (
        "postgresql://" in message and ":memory:" in message and "directory" in message
    )
    assert "secret" not in message
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_locations_parse_without_io(tmp_path):
    assert parse_location(":memory:") == InMemory()
    assert parse_location(str(tmp_path)) == tmp_path
    assert parse_location("journal") == Path("journal")
    postgres = parse_location("postgresql://ann:secret@db.example/jobs?schema=one")
    assert (postgres.schema, str(postgres)) == (
        "one",
        "postgresql://ann:***@db.example/jobs?schema=one",
    )
    assert parse_location(postgres) is postgres
    assert not tmp_path.joinpath("journal").exists()


def test_locations_are_described_without_secrets(tmp_path):
    assert describe_location(":memory:") == "in memory (nothing survives a restart)"
    assert (
        describe_location("postgresql://ann:secret@h/db") == "postgresql://ann:***@h/db"
    )
    assert describe_location(tmp_path) == repr(str(tmp_path))


def test_a_file_journal_needs_no_psycopg(tmp_path):
    """Opening a directory or memory journal imports no PostgreSQL driver
    (psycopg is an optional extra)."""
    script = (
        "import sys, trio\n"
        "from eventjobs.journal import open_journal\n"
        f"journal = open_journal({str(tmp_path / 'journal')!r})\n"
        "trio.run(journal.aclose)\n"
        "open_journal(':memory:')\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] == 'psycopg')\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
