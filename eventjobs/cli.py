"""The ``eventjobs`` command: its parsers, and which command runs.

``eventjobs serve`` runs the app under hypercorn's trio worker;
``eventjobs users`` manages the users file (see :mod:`eventjobs.user_commands`);
``eventjobs job`` and ``eventjobs schedule`` are clients of a running server (:mod:`eventjobs.client`). Every bad
setting (an unusable journal, a port in use, an ``--app`` that does not
import) ends the command with exit status 1 and one sentence on stderr.

``eventjobs job`` and ``eventjobs schedule`` are parsed and run with the client alone: the server side
(Quart, trio, hypercorn, the journals) is imported only by the commands
that use it, which keeps the client's start-up short.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .client import commands as client_commands
from .client import schedule_commands
from .errors import (
    ConfigError,
    JournalCorrupt,
)


log = logging.getLogger("eventjobs")


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="eventjobs",
        description="An event-sourced async job server speaking ArangoDB's job API.",
    )
    parser.add_argument(
        "--version", action="version", version=f"eventjobs {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    return parser, commands


def build_client_parser() -> argparse.ArgumentParser:
    """The parser of ``eventjobs job|schedule ...`` alone: the same as
    :func:`build_parser`'s ``job`` and ``schedule`` commands, without
    importing the server side."""
    parser, commands = _top_parser()
    client_commands.add_parser(commands)
    schedule_commands.add_parser(commands)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser (imports the modules of every command)."""
    from . import user_commands
    from .audit import commands as audit_commands
    from .audit import copy as journal_copy
    from .audit import keygen as journal_keygen
    from .serve_options import add_serve_command, environment_defaults
    from .settings import Settings

    parser, commands = _top_parser()
    defaults = Settings()
    add_serve_command(commands, environment_defaults())
    user_commands.add_parser(commands)
    client_commands.add_parser(commands)
    schedule_commands.add_parser(commands)
    journal = commands.add_parser("journal", help="look after a journal directory")
    journal_commands = journal.add_subparsers(
        dest="journal_command", required=True, metavar="COMMAND"
    )
    prune = journal_commands.add_parser(
        "prune",
        help="remove (or archive) old segments the server no longer needs",
        description="Remove whole segments older than --before that the newest snapshot "
        "covers, leaving a checkpoint so what remains stays verifiable. Safe while a "
        "server runs on the journal.",
    )
    prune.add_argument("directory", nargs="?", default=defaults.journal, metavar="DIR")
    prune.add_argument(
        "--before", required=True, metavar="TIME", help="ISO 8601 or unix seconds"
    )
    prune.add_argument(
        "--archive",
        default=None,
        metavar="DIR",
        help="move segments here instead of deleting",
    )
    audit_commands.add_commands(journal_commands)
    journal_copy.add_command(journal_commands)
    journal_keygen.add_command(journal_commands)
    from .audit import trail_commands

    trail_commands.add_commands(journal_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["job"]:
        # The client's start-up is most of a short command's time: only its
        # own parser, and nothing of the server (no other option comes first).
        return client_commands.run(_parse(build_client_parser(), arguments))
    if arguments[:1] == ["schedule"]:
        return schedule_commands.run(_parse(build_client_parser(), arguments))
    args = _parse(build_parser(), arguments)
    from .observe import logformat

    if args.command == "users":
        from . import user_commands

        return user_commands.run(args)
    # Like hypercorn and uvicorn: --app modules are found in the current
    # directory (a console script's sys.path does not include it).
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.command == "journal":
        logging.basicConfig(level=logging.INFO, format=logformat.TEXT_FORMAT)
        return _journal_command(args)
    try:
        logformat.configure(args.log_format, args.log_level, job_log=args.job_log)
    except ValueError as error:
        print(
            f"eventjobs: {error} (--log-format or EVENTJOBS_LOG_FORMAT, --log-level or "
            "EVENTJOBS_LOG_LEVEL)",
            file=sys.stderr,
        )
        return 1
    from . import serving

    if args.workers != 1 and args.listen_fd is None:
        return serving.run_server_processes(args, arguments)
    return serving.run_server(args)


def _parse(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """Parse *arguments*; an unknown option is reported with the usage of the
    command it was given to (argparse would show the top level's)."""
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        command = parser
        while (chosen := _chosen_subcommand(command, args)) is not None:
            command = chosen
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def _chosen_subcommand(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser | None = action.choices.get(
                str(getattr(args, action.dest, ""))
            )
            return chosen
    return None


def _journal_command(args: argparse.Namespace) -> int:
    from .audit import commands as audit_commands
    from .audit import copy as journal_copy
    from .journal.opening import parse_location
    from .journal.pg_url import PostgresLocation, redact
    from .journal.pruning import prune
    from .timeparse import parse_time

    if args.journal_command in audit_commands.COMMANDS:
        return audit_commands.run(args)
    if args.journal_command == "copy":
        return journal_copy.run(args)
    from .audit import trail_commands

    if args.journal_command in trail_commands.COMMANDS:
        return trail_commands.run(args)
    if args.journal_command == "keygen":
        from .audit import keygen as journal_keygen

        return journal_keygen.run(args)
    try:
        location = parse_location(args.directory)
    except ConfigError as error:
        print(f"eventjobs journal prune: {error}", file=sys.stderr)
        return 1
    if isinstance(location, PostgresLocation):
        print(
            f"eventjobs journal prune: {redact(args.directory)} is a PostgreSQL journal; "
            "prune works on journal directories only (a PostgreSQL journal keeps every "
            "record; see docs/deployment.md for its size)",
            file=sys.stderr,
        )
        return 1
    try:
        before = parse_time(args.before)
        result = prune(
            Path(args.directory), before, Path(args.archive) if args.archive else None
        )
    except (ValueError, ConfigError, JournalCorrupt) as error:
        print(f"eventjobs journal prune: {error}", file=sys.stderr)
        return 1
    if not result.segments:
        print(
            "nothing to prune: no old segment is both covered by a snapshot and older"
        )
    else:
        where = f"moved to {args.archive}" if args.archive else "removed"
        names = ", ".join(path.name for path in result.segments)
        print(
            f"{len(result.segments)} segment(s) {where} ({names}); records up to "
            f"{result.through_seq} are checkpointed"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
