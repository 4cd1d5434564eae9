"""The commands on a journal a real server is writing, and on pruned journals."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.support import server_process

from .fixture import EVENTS, write_journal, write_pruned_journal
from .support import run, segment_lines


@pytest.mark.e2e
def test_verify_passes_on_a_journal_a_server_is_writing(tmp_path):
    """verify reads a running server's journal (no lock taken) and finds it intact."""
    directory = tmp_path / "journal"
    with server_process("--journal", str(directory)) as server:
        for _ in range(3):
            response = httpx.get(
                f"{server.url}/_api/version", headers={"x-arango-async": "store"}
            )
            assert response.status_code == 202
        result = subprocess.run(
            [sys.executable, "-m", "eventjobs", "journal", "verify", str(directory)],
            capture_output=True,
            check=False,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result
        assert result.stdout.startswith("ok: ")
        assert ", 3 jobs, " in result.stdout
        # The server still works: the audit took nothing from it.
        assert httpx.get(f"{server.url}/_api/job/pending").status_code == 200


def test_torn_last_line_is_the_end_for_log(tmp_path, capsys):
    """log lists every complete record and stops quietly at a torn last line."""
    journal = write_journal(tmp_path / "journal")
    path, lines = segment_lines(journal)
    path.write_bytes(b"".join(lines) + lines[0][:30])
    result = run(capsys, "log", str(journal))
    assert result.status == 0 and result.err == ""
    assert len(result.out.splitlines()) == 1 + len(EVENTS)


def test_replay_of_pruned_journal_equals_unpruned(tmp_path, capsys):
    """A pruned journal replays (from its snapshot) to the same views."""
    whole = write_journal(tmp_path / "whole")
    pruned = tmp_path / "pruned"
    write_pruned_journal(pruned)
    expected = json.loads(run(capsys, "replay", str(whole), "--json").out)
    result = run(capsys, "replay", str(pruned), "--json")
    assert result.status == 0, result
    assert json.loads(result.out) == expected


def test_replay_before_pruned_point_is_refused(tmp_path, capsys):
    """Replaying to a position pruned away is one clear sentence, exit 1."""
    pruned = tmp_path / "pruned"
    write_pruned_journal(pruned)
    result = run(capsys, "replay", str(pruned), "--until", "3")
    assert result.status == 1
    assert result.err.startswith("eventjobs journal replay: the journal was pruned")
    assert result.err.count("\n") == 1
