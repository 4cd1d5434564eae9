"""The arguments of ``eventjobs job ...``: the parser, and argument types
that turn bad input into argparse's usage error (exit 2) with one sentence
saying what is wrong and what to write instead. Pure: reads nothing but the
arguments."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from typing import Any

from ..numbers import parse_count, parse_job_id, shown
from ..timeparse import parse_time
from .connection import DEFAULT_URL

URL_VARIABLE = "EVENTJOBS_URL"
USER_VARIABLE = "EVENTJOBS_USER"
PASSWORD_VARIABLE = "EVENTJOBS_PASSWORD"

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

EXIT_CODES_TEXT = """\
exit codes: 0 success (a fetched result is 2xx), 1 the result is not 2xx or the
server refused the request, 2 usage, 3 no such job, 4 cannot connect, 5 not
authorized, 6 still pending, 130 interrupted. See docs/cli-client.md."""


# -- argument types: each raises ArgumentTypeError with the fix --------------------


def job_id(text: str) -> int:
    try:
        return parse_job_id(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def delete_target(text: str) -> int | str:
    if text in ("all", "expired"):
        return text
    try:
        return job_id(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is neither a job id nor 'all' nor 'expired'"
        ) from None


def header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{text!r} is not a header: write NAME:VALUE")
    if any(char in value for char in "\r\n\0"):
        raise argparse.ArgumentTypeError(
            f"the value of header {name!r} holds a line break"
        )
    if name.lower() in ("x-arango-async", "content-length", "host"):
        raise argparse.ArgumentTypeError(f"eventjobs sets the {name} header itself")
    return name, value


def method(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an HTTP method (GET, POST, PUT...)"
        )
    return text.upper()


def request_path(text: str) -> str:
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a path: it starts with /, as in /_admin/echo"
        )
    if not text.isascii() or any(char <= " " or char == "\x7f" for char in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} holds spaces, control or non-ASCII characters: percent-encode them "
            "(a space is %20)"
        )
    return text


def time_value(text: str) -> float:
    try:
        seconds = parse_time(text)
        datetime.fromtimestamp(seconds, UTC)  # shown back to the user
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    except (OverflowError, OSError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is too far from today to be a time"
        ) from None
    return seconds


def positive_int(text: str) -> int:
    count = parse_count(text)
    if count is None:
        raise argparse.ArgumentTypeError(
            f"{shown(text)} is not a whole number of 1 or more"
        )
    return count


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


# -- the parser ----------------------------------------------------------------------


def connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--url, --user, --verbose: accepted before and after the subcommand
    (after it, SUPPRESS keeps an absent option from hiding one given before)."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--url",
        default=default(None),
        metavar="URL",
        help=f"the server (default ${URL_VARIABLE}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--user",
        default=default(None),
        metavar="NAME",
        help=f"authenticate as NAME (default ${USER_VARIABLE}); the password comes from "
        f"${PASSWORD_VARIABLE} or a prompt, never the command line",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="trace each request and answer on stderr (instead of the spinner)",
    )


def add_action(
    actions: argparse._SubParsersAction,
    name: str,
    text: str,
    description: str,
    *,
    parser_key: str,
) -> argparse.ArgumentParser:
    """A client subcommand with the connection options; its own parser is
    kept under *parser_key* (for usage errors found after parsing)."""
    sub: argparse.ArgumentParser = actions.add_parser(
        name, help=text, description=description, epilog=EXIT_CODES_TEXT
    )
    connection_options(sub, top=False)
    sub.set_defaults(**{parser_key: sub})
    return sub


def add_parser(commands: Any) -> None:
    """Add the ``job`` command and its subcommands to *commands*."""
    parser = commands.add_parser(
        "job",
        help="submit, watch and act on the jobs of a running server (a client)",
        description="A client of a running eventjobs server, over HTTP.",
        epilog=EXIT_CODES_TEXT,
    )
    connection_options(parser, top=True)
    actions = parser.add_subparsers(dest="job_command", required=True, metavar="ACTION")

    def action(name: str, text: str, description: str) -> argparse.ArgumentParser:
        return add_action(actions, name, text, description, parser_key="job_parser")

    submit = action(
        "submit",
        "send a request as a stored job; print its id",
        "Send METHOD PATH with x-arango-async: store and print the job id; with "
        "--wait, wait for the job and print its result body instead.",
    )
    submit.add_argument("method", type=method, metavar="METHOD")
    submit.add_argument(
        "path", type=request_path, metavar="PATH", help="with its query string"
    )
    submit.add_argument(
        "-d",
        "--data",
        metavar="@FILE|TEXT|@-",
        help="the request body: the bytes of FILE, TEXT as UTF-8, or standard input",
    )
    submit.add_argument(
        "-H",
        "--header",
        type=header,
        action="append",
        default=[],
        dest="headers",
        metavar="NAME:VALUE",
        help="a request header (repeatable)",
    )
    _wait_options(submit)

    status = action(
        "status",
        "print done, pending or cancelling (and progress)",
        "Print the job's state: done (its result waits to be fetched), pending, or "
        "cancelling, followed by its latest progress if it reported any.",
    )
    status.add_argument("id", type=job_id, metavar="ID")

    fetch = action(
        "fetch",
        "print a job's result (the server then forgets it)",
        "Print the result body of a finished job on stdout; the server hands a "
        "result out once. A job still pending exits 6 unless --wait.",
    )
    fetch.add_argument("id", type=job_id, metavar="ID")
    _wait_options(fetch)

    cancel = action(
        "cancel",
        "ask a job to stop",
        "Ask a pending job to stop; its result becomes 410 (fetch it to see).",
    )
    cancel.add_argument("id", type=job_id, metavar="ID")

    listing = action(
        "list",
        "print the ids of pending or done jobs, one a line",
        "Print the ids of your pending or done jobs, ascending, one a line.",
    )
    listing.add_argument("which", choices=("pending", "done"))
    listing.add_argument(
        "--count",
        type=positive_int,
        default=None,
        metavar="N",
        help="at most N ids (the server's default: 100)",
    )

    delete = action(
        "delete",
        "forget a job, all jobs, or those older than --before",
        "Delete one job (a pending one keeps running; its result is thrown away), "
        "all your jobs, or with 'expired --before TIME' those whose creation (pending) "
        "or completion (done) time is before TIME.",
    )
    delete.add_argument("target", type=delete_target, metavar="ID|all|expired")
    delete.add_argument(
        "--before",
        type=time_value,
        default=None,
        metavar="TIME",
        help="with expired: ISO 8601 (2026-11-29T12:00:00Z; UTC when no zone) or unix seconds",
    )


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w",
        "--wait",
        action="store_true",
        help="wait for the job to finish (spinner or progress bar on a terminal's stderr), "
        "then print its result",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="with --wait: give up after SECONDS (exit 6), leaving the job alone",
    )
