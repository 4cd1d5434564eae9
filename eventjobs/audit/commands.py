"""The audit subcommands of ``eventjobs journal``: arguments and dispatch.

Each command reads the journal directory as a bystander (no lock, no
writes). Problems the user can fix (a missing directory, an unknown job, a
bad TIME) end the command with one sentence on stderr and exit status 1;
argparse reports bad usage with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from collections.abc import Iterator
from typing import Any, TextIO

from ..errors import JournalCorrupt
from ..numbers import is_digits, parse_job_id
from ..snapshot_codec import encode_table
from ..timeparse import parse_time
from . import export as export_module
from .filters import EventFilter
from .log import HEADER, log_rows
from .progress import ProgressBar
from .reading import NoJournal, Scan, check_directory, records, source_of
from .reading import follower as reading_follower
from .replay import CannotReplay, replay
from .show import UnknownJob, show
from .stats import stats
from .tables import iso, render
from .timeline import JobFacts
from .verify import verify
from . import trail_commands

COMMANDS = ("verify", "replay", "show", "log", "stats", "export")
DEFAULT_DIRECTORY = "journal"


def add_commands(journal_commands: Any) -> None:
    """Add the audit commands to the ``eventjobs journal`` subparsers."""

    def command(name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = journal_commands.add_parser(
            name, help=help, description=help
        )
        parser.add_argument(
            "directory",
            nargs="?",
            default=DEFAULT_DIRECTORY,
            metavar="DIR|URL",
            help="journal directory (default ./journal) or postgresql:// URL",
        )
        return parser

    verify_parser = command(
        "verify",
        "check every record: parses, sequence, hash, hash chain, legal transition",
    )
    trail_commands.add_verify_options(verify_parser)
    replay_parser = command(
        "replay", "rebuild the job views as they were at a point and print them"
    )
    replay_parser.add_argument(
        "--until",
        metavar="SEQ|TIME",
        help="a sequence number, or a time (ISO 8601; unix seconds with a dot or above 10^9)",
    )
    replay_parser.add_argument(
        "--json", action="store_true", help="print the views as JSON"
    )
    show_parser = command(
        "show", "one job's timeline: each event, who caused it, queue wait and run time"
    )
    show_parser.add_argument("job", metavar="JOB_ID")
    show_parser.add_argument(
        "--body",
        action="store_true",
        help="print the stored request and response bodies",
    )
    trail_commands.add_show_options(show_parser)
    log_parser = command("log", "list events, filtered")
    log_parser.add_argument("--since", metavar="TIME", help="ISO 8601 or unix seconds")
    log_parser.add_argument("--until", metavar="TIME", help="ISO 8601 or unix seconds")
    log_parser.add_argument(
        "--user", metavar="U", help="events caused by U or of jobs U owns"
    )
    log_parser.add_argument("--type", metavar="TYPE", help="queued, started, done, ...")
    log_parser.add_argument(
        "--path", metavar="PATTERN", help="shell pattern on the request path"
    )
    log_parser.add_argument(
        "--follow", action="store_true", help="keep printing new events (Ctrl-C ends)"
    )
    log_parser.add_argument(
        "--interval", type=float, default=0.5, metavar="SECONDS", help=argparse.SUPPRESS
    )
    command(
        "stats", "counts by type, state and user; queue wait and run time percentiles"
    )
    export_parser = command("export", "one flat row per event")
    export_parser.add_argument("--format", required=True, choices=("jsonl", "csv"))
    export_parser.add_argument(
        "--output", metavar="FILE", help="write here instead of stdout"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the audit command *args* names; return the exit status."""
    out = sys.stdout if out is None else out
    colour = out.isatty() and "NO_COLOR" not in os.environ
    name = args.journal_command
    try:
        return _COMMANDS[name](args, out, colour)
    except BrokenPipeError:
        # The reader went away (``| head``): not an error. Point stdout at
        # /dev/null so the interpreter's final flush stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (
        NoJournal,
        JournalCorrupt,
        ValueError,
        UnknownJob,
        CannotReplay,
        OSError,
    ) as error:
        print(f"eventjobs journal {name}: {error}", file=sys.stderr)
        return 1


def _verify(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    try:
        result = verify(source_of(args.directory))
    except JournalCorrupt as error:
        out.write(f"DAMAGED: {error}\n")
        return 1
    if result.records == 0:
        out.write("ok: the journal is empty\n")
    else:
        out.write(
            f"ok: {result.records} records (sequence numbers {result.first_seq} to "
            f"{result.last_seq}), {result.jobs} jobs, {iso(result.first_time)} to "
            f"{iso(result.last_time)}; every hash, link and transition holds\n"
        )
    if result.unchecked:
        out.write(
            f"note: {result.unchecked} events of jobs queued before the first kept "
            "record are covered by the hash chain only (their history was pruned)\n"
        )
    if result.torn is not None:
        out.write(
            f"note: {result.torn.path}, line {result.torn.line}: incomplete last record "
            "(being written?); not counted\n"
        )
    if getattr(args, "checkpoint", None) is not None:
        try:
            return trail_commands.verify_checkpoint(args, out)
        except trail_commands.CommandError as error:
            raise ValueError(str(error)) from None
    return 0


def _replay(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    until_seq = until_time = None
    if args.until is not None:
        if is_digits(args.until) and len(args.until) < 10:
            until_seq = int(args.until)
        else:
            until_time = parse_time(args.until)
    with _progress("replaying") as progress:
        table = replay(source_of(args.directory), until_seq, until_time, progress)
    if args.json:
        out.write(json.dumps(encode_table(table), indent=1) + "\n")
        return 0
    out.write(f"views at sequence number {table.position}\n")
    for title, pending in (("pending jobs", True), ("done jobs", False)):
        rows = [
            [
                str(job.job_id),
                "-" if job.owner is None else job.owner,
                job.method,
                job.path,
                job.phase.value,
                "-" if job.status is None else str(job.status),
                "yes" if job.visible else "no",
                iso(job.created),
                iso(job.started),
                iso(job.finished),
            ]
            for job in table.jobs.values()
            if job.pending == pending
        ]
        out.write(f"\n{title}: {len(rows)}\n")
        if rows:
            out.write(
                render(
                    [
                        "JOB",
                        "OWNER",
                        "METHOD",
                        "PATH",
                        "PHASE",
                        "STATUS",
                        "VISIBLE",
                        "CREATED",
                        "STARTED",
                        "FINISHED",
                    ],
                    rows,
                    colour=colour,
                )
            )
    return 0


def _show(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    job_id = parse_job_id(args.job)
    out.write(
        show(
            records(source_of(args.directory)), job_id, bodies=args.body, colour=colour
        )
    )
    if args.key is None:
        return 0
    try:
        line, status = trail_commands.receipt_status(
            source_of(args.directory), job_id, args.key
        )
    except trail_commands.CommandError as error:
        print(f"eventjobs journal show: {error}", file=sys.stderr)
        return 1
    out.write(line)
    return status


def _log(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    chosen = EventFilter(
        since=None if args.since is None else parse_time(args.since),
        until=None if args.until is None else parse_time(args.until),
        user=args.user,
        type=args.type,
        path=args.path,
    )
    facts = JobFacts()
    scan = Scan(source_of(args.directory))
    rows = log_rows((entry.record for entry in scan), chosen, facts)
    out.write(render(HEADER, rows, colour=colour, colour_column=3))
    out.flush()
    if not args.follow:
        return 0
    follower = reading_follower(
        source_of(args.directory), scan.last_seq, scan.last_hash
    )
    try:
        while True:
            time.sleep(args.interval)
            new = log_rows((entry.record for entry in follower.poll()), chosen, facts)
            out.writelines("  ".join(row) + "\n" for row in new)
            out.flush()
    except KeyboardInterrupt:
        return 0
    finally:
        close = getattr(follower, "close", None)
        if close is not None:
            close()


def _stats(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    with _progress("reading") as progress:
        text = stats(records(source_of(args.directory), progress), colour=colour)
    out.write(text)
    return 0


def _export(args: argparse.Namespace, out: TextIO, colour: bool) -> int:
    directory = source_of(args.directory)
    if isinstance(directory, Path):
        check_directory(directory)  # before the CSV header is written
    if args.output is None:
        export_module.export(records(directory), args.format, out)
        return 0
    with open(args.output, "w", newline="", encoding="utf-8") as file:
        count = export_module.export(records(directory), args.format, file)
    print(f"{count} events written to {args.output}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _progress(label: str) -> Iterator[ProgressBar | None]:
    """A progress bar on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = ProgressBar(sys.stderr, label)
    try:
        yield bar
    finally:
        bar.close()


_COMMANDS = {
    "verify": _verify,
    "replay": _replay,
    "show": _show,
    "log": _log,
    "stats": _stats,
    "export": _export,
}
