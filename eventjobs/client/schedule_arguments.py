"""The arguments of ``eventjobs schedule add|list|remove``: the parser, with
the argument types of ``eventjobs job`` (:mod:`.arguments`), so bad input
is argparse's usage error (exit 2) with one sentence. Pure: reads nothing
but the arguments."""

from __future__ import annotations

import argparse
from typing import Any

from ..numbers import parse_job_id
from .arguments import (
    add_action,
    connection_options,
    header,
    method,
    positive_seconds,
    request_path,
)

EXIT_CODES_TEXT = """\
exit codes: 0 success, 1 the server refused the request, 2 usage, 3 no such
schedule, 4 cannot connect, 5 not authorized, 130 interrupted. See
docs/cli-client.md."""

#: What a schedule does about firings missed while no server ran (docs/api.md).
CATCH_UP_MODES = ("latest", "all", "none")


def schedule_id(text: str) -> int:
    try:
        return parse_job_id(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            str(error).replace("job id", "schedule id")
        ) from None


def add_parser(commands: Any) -> None:
    """Add the ``schedule`` command and its subcommands to *commands*."""
    parser = commands.add_parser(
        "schedule",
        help="add, list and remove the recurring schedules of a running server (a client)",
        description="Recurring schedules of a running eventjobs server, over HTTP: "
        "each firing submits the schedule's request as a stored job.",
        epilog=EXIT_CODES_TEXT,
    )
    connection_options(parser, top=True)
    actions = parser.add_subparsers(
        dest="schedule_command", required=True, metavar="ACTION"
    )

    def action(name: str, text: str, description: str) -> argparse.ArgumentParser:
        return add_action(
            actions, name, text, description, parser_key="schedule_parser"
        )

    add = action(
        "add",
        "add a schedule that submits a request; print its id",
        "Add a schedule that submits METHOD PATH as a stored job of yours at each "
        "firing: on a cron expression (--cron, in --timezone) or every SECONDS "
        "(--every). Prints the schedule's id.",
    )
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--cron",
        metavar="EXPR",
        help="five fields: minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'",
    )
    when.add_argument(
        "--every",
        type=positive_seconds,
        metavar="SECONDS",
        help="fire every SECONDS (1 to 31622400), the first one interval from now",
    )
    add.add_argument(
        "--timezone",
        metavar="ZONE",
        help="with --cron: an IANA time zone such as Europe/Berlin (default UTC)",
    )
    add.add_argument(
        "--catch-up",
        choices=CATCH_UP_MODES,
        default=None,
        help="firings missed while no server ran: latest (the server's default: run "
        "once), all, or none",
    )
    add.add_argument("method", type=method, metavar="METHOD")
    add.add_argument(
        "path", type=request_path, metavar="PATH", help="with its query string"
    )
    add.add_argument(
        "-d",
        "--data",
        metavar="@FILE|TEXT|@-",
        help="the request body (UTF-8 text): the bytes of FILE, TEXT, or standard input",
    )
    add.add_argument(
        "-H",
        "--header",
        type=header,
        action="append",
        default=[],
        dest="headers",
        metavar="NAME:VALUE",
        help="a request header (repeatable)",
    )

    action(
        "list",
        "print your schedules as a table",
        "Print your schedules (a superuser's: everyone's), by id: when each fires, "
        "its next firing (UTC) and its request.",
    )

    remove = action(
        "remove",
        "remove a schedule (its jobs stay)",
        "Remove one of your schedules: it fires no more; the jobs it made stay.",
    )
    remove.add_argument("id", type=schedule_id, metavar="ID")
