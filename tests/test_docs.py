"""The documentation says what the code does: dates, samples, tables, help
texts. (The command blocks themselves are run by tests/test_doc_blocks.py.)"""

from __future__ import annotations

import itertools
import argparse
import datetime
import io
import re
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from eventjobs.cli import build_parser

from tests.audit.fixture import write_journal

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted(
    [ROOT / "README.md", ROOT / "journal" / "README.md", *(ROOT / "docs").glob("*.md")]
)


def outside_code(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of *path* outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def fenced_blocks(path: Path) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_unix_seconds_in_examples_are_the_dates_the_output_shows() -> None:
    """A command given ``--before <unix seconds>`` whose next line echoes
    an ISO time: the two are the same instant."""
    checked = 0
    for path in MARKDOWN:
        for block in fenced_blocks(path):
            for command, output in itertools.pairwise(block):
                given = re.search(r"--before (\d{9,}(?:\.\d+)?)\b", command)
                shown = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", output)
                if not given or not shown or output.startswith("$"):
                    continue
                instant = datetime.datetime.fromtimestamp(float(given[1]), datetime.UTC)
                assert instant.strftime("%Y-%m-%dT%H:%M:%SZ") == shown[0], (
                    path.name,
                    command,
                )
                checked += 1
    assert checked, "no --before example found"


def section_labels(text: str) -> dict[str, list[str]]:
    """Sections of ``journal stats`` output -> the first word of each row."""
    sections: dict[str, list[str]] = {}
    for part in text.strip().split("\n\n"):
        title, header, *rows = part.splitlines()
        sections[title] = [header.split()[0], *(row.split()[0] for row in rows)]
    return sections


def test_the_journal_stats_sample_in_audit_md_has_the_rows_stats_prints(
    tmp_path: Path,
) -> None:
    journal = write_journal(tmp_path / "journal")
    output = io.StringIO()
    from eventjobs.cli import main

    with redirect_stdout(output):
        assert main(["journal", "stats", str(journal)]) == 0
    printed = section_labels(output.getvalue())
    text = (ROOT / "docs" / "audit.md").read_text()
    sample = text.split("$ eventjobs journal stats journal\n", 1)[1].split("```", 1)[0]
    documented = section_labels(sample)
    assert list(documented) == list(printed)
    # Every event type and every measure is a row whatever the journal holds;
    # states and users depend on it.
    for section in ("events by type", "latency"):
        assert documented[section] == printed[section], section


def test_markdown_tables_are_not_cut_by_blank_lines() -> None:
    for path in MARKDOWN:
        lines = outside_code(path)
        for (_, before), (_, blank), (number, after) in zip(
            lines, lines[1:], lines[2:], strict=False
        ):
            if before.startswith("|") and not blank.strip() and after.startswith("|"):
                pytest.fail(f"{path.name}:{number}: a blank line cuts a table in two")


def test_following_embedding_md_leaves_nothing_for_git_to_add() -> None:
    """embedding.md runs its examples from docs/examples/ on ./journal."""
    assert 'journal="./journal"' in (ROOT / "docs" / "embedding.md").read_text()
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "docs/examples/journal/segment-00000001.jsonl"],
        cwd=ROOT,
    )
    assert ignored.returncode == 0, "docs/examples/journal/ is not ignored by git"


def subparsers(parser: argparse.ArgumentParser, name: str = "eventjobs"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from subparsers(child, f"{name} {child_name}")


def test_serve_help_shows_every_default() -> None:
    (serve,) = [
        p for name, p in subparsers(build_parser()) if name == "eventjobs serve"
    ]
    for action in serve._actions:
        if action.help in (None, argparse.SUPPRESS) or action.default in (
            None,
            False,
            [],
            argparse.SUPPRESS,
        ):
            continue
        assert "default" in action.help, f"{action.option_strings[0]}: {action.help}"


def test_no_help_text_shows_markup() -> None:
    for name, parser in subparsers(build_parser()):
        text = parser.format_help()
        assert "``" not in text, f"{name} --help shows reStructuredText markup"
        assert ":class:" not in text and ":func:" not in text, name


def test_every_hypercorn_command_in_the_docs_names_its_address() -> None:
    """hypercorn listens on 127.0.0.1:8000 unless told; the docs' clients
    talk to 8529, where ``eventjobs serve`` listens."""
    commands = 0
    for path in MARKDOWN:
        for block in fenced_blocks(path):
            text = "\n".join(block).replace("\\\n", " ")
            for line in text.splitlines():
                if re.search(r"\bhypercorn -k trio\b", line):
                    commands += 1
                    assert "--bind" in line, f"{path.name}: {line}"
    assert commands
