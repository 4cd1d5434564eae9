"""A directory that holds files but no journal is not taken for an empty
journal: the audit commands and ``serve`` say so (``serve --create`` starts
a journal there all the same). An empty or missing directory, and one that
holds only a README.md (as the repository's ``journal/`` does), work as
before."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from eventjobs.cli import main
from tests.audit.fixture import write_journal


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"\xff\xd8")
    (folder / "notes.txt").write_text("mine\n")
    return folder


@pytest.mark.parametrize(
    "command, extra",
    [
        ("verify", []),
        ("stats", []),
        ("log", []),
        ("replay", []),
        ("show", ["1"]),
        ("export", ["--format", "csv"]),
    ],
)
def test_an_audit_command_on_a_folder_of_other_files_says_it_is_no_journal(
    capsys: pytest.CaptureFixture[str], photos: Path, command: str, extra: list[str]
) -> None:
    status, out, err = run(capsys, "journal", command, str(photos), *extra)
    assert status == 1, (out, err)
    assert out == ""
    assert err == (
        f"eventjobs journal {command}: the directory {str(photos)!r} holds no "
        "journal, only other files (holiday.jpg, notes.txt)\n"
    )


def test_serve_refuses_a_folder_of_other_files_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], photos: Path
) -> None:
    with socket.socket() as taken:  # were the folder accepted, serve stops here
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        status, _, err = run(capsys, "serve", "--journal", str(photos), "--bind", bind)
    assert status == 1
    assert err.startswith(
        f"eventjobs: the directory {str(photos)!r} holds files but no journal "
        "(holiday.jpg, notes.txt)"
    ), err
    assert "--create" in err
    assert sorted(p.name for p in photos.iterdir()) == ["holiday.jpg", "notes.txt"]


def test_the_check_names_a_few_files_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for number in range(100):
        (tmp_path / f"file{number:03}").write_text("")
    status, _, err = run(capsys, "journal", "verify", str(tmp_path))
    assert status == 1
    assert "file000, file001, file002, file003, file004 and 95 more" in err, err


@pytest.mark.parametrize("contents", [[], ["README.md", ".gitkeep"]])
def test_an_empty_folder_is_an_empty_journal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, contents: list[str]
) -> None:
    for name in contents:
        (tmp_path / name).write_text("")
    status, out, _ = run(capsys, "journal", "verify", str(tmp_path))
    assert (status, out) == (0, "ok: the journal is empty\n")


def test_a_journal_with_other_files_beside_it_is_a_journal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    journal = write_journal(tmp_path / "journal")
    (journal / "notes.txt").write_text("an operator's notes\n")
    status, out, _ = run(capsys, "journal", "verify", str(journal))
    assert status == 0 and out.startswith("ok: "), out


def test_serve_create_starts_a_journal_among_other_files_all_the_same(
    capsys: pytest.CaptureFixture[str], photos: Path
) -> None:
    with socket.socket() as taken:  # serve stops once past the journal check
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        status, _, err = run(
            capsys, "serve", "--journal", str(photos), "--create", "--bind", bind
        )
    assert status == 1
    assert err.startswith(f"eventjobs: cannot listen on {bind}"), err
