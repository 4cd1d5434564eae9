"""Golden output of show, log, stats, export and replay on the fixed journal.

The golden files were generated from :mod:`tests.audit.fixture` and checked
by eye; regenerate them with ``AUDIT_UPDATE_GOLDEN=1`` after a deliberate
change of output, and read the diff before committing.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from eventjobs.audit import commands
from eventjobs.cli import build_parser

from .fixture import write_journal
from .support import run

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "show-1.txt": ["show", "{dir}", "1"],
    "show-2-body.txt": ["show", "{dir}", "2", "--body"],
    "show-3-body.txt": ["show", "{dir}", "3", "--body"],
    "log.txt": ["log", "{dir}"],
    "log-user-bob.txt": ["log", "{dir}", "--user", "bob"],
    "log-type-deleted.txt": ["log", "{dir}", "--type", "deleted"],
    "log-path-admin.txt": ["log", "{dir}", "--path", "/_admin/*"],
    "log-since-until.txt": [
        "log",
        "{dir}",
        "--since",
        "2025-11-29T12:00:05Z",
        "--until",
        "1764417612",
    ],
    "stats.txt": ["stats", "{dir}"],
    "export.csv": ["export", "{dir}", "--format", "csv"],
    "export.jsonl": ["export", "{dir}", "--format", "jsonl"],
    "replay.txt": ["replay", "{dir}"],
    "replay-until-10.txt": ["replay", "{dir}", "--until", "10"],
    "replay-until-time.txt": ["replay", "{dir}", "--until", "2025-11-29T12:00:13Z"],
}


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_journal(tmp_path_factory.mktemp("golden") / "journal")


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_matches_golden_file(name, journal, capsys):
    """The command's output is byte for byte its golden file."""
    args = [arg.format(dir=journal) for arg in CASES[name]]
    result = run(capsys, *args)
    assert result.status == 0, result
    assert result.err == ""
    path = GOLDEN / name
    if os.environ.get("AUDIT_UPDATE_GOLDEN"):
        path.write_text(result.out)
    assert result.out == path.read_text()


def test_export_to_file_equals_stdout(journal, tmp_path, capsys):
    """--output writes the same rows as stdout and says how many."""
    target = tmp_path / "events.csv"
    result = run(
        capsys, "export", str(journal), "--format", "csv", "--output", str(target)
    )
    assert result.status == 0
    assert target.read_text() == (GOLDEN / "export.csv").read_text()
    assert result.err == f"22 events written to {target}\n"


def test_unknown_job_is_one_sentence(journal, capsys):
    """show of a job the journal never saw: exit 1, one line on stderr."""
    result = run(capsys, "show", str(journal), "99")
    assert result.status == 1
    assert result.err == "eventjobs journal show: the journal has no record of job 99\n"


def test_bad_time_is_one_sentence(journal, capsys):
    """A --since that is not a time: exit 1, one line naming the forms."""
    result = run(capsys, "log", str(journal), "--since", "yesterday")
    assert result.status == 1
    assert result.err.startswith("eventjobs journal log: 'yesterday' is not a time")
    assert result.err.count("\n") == 1


def test_unknown_type_is_one_sentence(journal, capsys):
    """--type with a name that is no event type lists the known ones."""
    result = run(capsys, "log", str(journal), "--type", "exploded")
    assert result.status == 1
    assert "'exploded' is not an event type (one of: queued, started" in result.err


def test_directory_defaults_to_journal_in_cwd(journal, capsys, monkeypatch):
    """Without DIR, show reads ./journal."""
    monkeypatch.chdir(journal.parent)
    result = run(capsys, "show", "1")
    assert result.status == 0, result
    assert result.out == (GOLDEN / "show-1.txt").read_text()


class _Terminal(io.StringIO):
    """An output stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _log_to(out: io.StringIO, journal: Path) -> str:
    args = build_parser().parse_args(["journal", "log", str(journal)])
    assert commands.run(args, out) == 0
    return out.getvalue()


def test_terminal_output_is_coloured(journal, monkeypatch):
    """On a terminal the table has colour; the same rows through a pipe have none."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = _log_to(_Terminal(), journal)
    assert "\x1b[1mSEQ" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == (GOLDEN / "log.txt").read_text()


def test_no_color_turns_colour_off(journal, monkeypatch):
    """NO_COLOR in the environment keeps a terminal's output plain."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert _log_to(_Terminal(), journal) == (GOLDEN / "log.txt").read_text()
