"""``eventjobs job submit|status|fetch|cancel|list|delete``: parsing, output
and exit codes (docs/cli-client.md).

Standard output carries only what a script wants: a job id, a status word,
a list of ids, or a job's result body, byte for byte. Everything for the
person at the terminal (errors, the spinner, ``--verbose`` traces) goes to
standard error. Every failure is one sentence on stderr and an exit code,
never a traceback:

==== ==============================================================
0    success; a fetched result is 2xx
1    a fetched result is not 2xx, or the server refused the request
2    usage: bad arguments, no password to be had
3    no such job (unknown, fetched, deleted, or another user's)
4    cannot connect (refused, unknown host, timeout, TLS)
5    not authorized (401/403)
6    the job is still pending (``fetch`` without ``--wait``, ``--timeout``)
130  interrupted (Ctrl-C); a job being waited for is left alone
==== ==============================================================
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..timeparse import parse_time
from .api import DONE, JobAPI, JobNotFound, NotAuthorized, Pending, Refused
from .connection import DEFAULT_URL, Answer, BadURL, CannotConnect, Connection, basic_authorization
from .display import Silent, display_for

EXIT_OK = 0
EXIT_ERROR_RESULT = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CANNOT_CONNECT = 4
EXIT_NOT_AUTHORIZED = 5
EXIT_PENDING = 6
EXIT_INTERRUPTED = 130

URL_VARIABLE = "EVENTJOBS_URL"
USER_VARIABLE = "EVENTJOBS_USER"
PASSWORD_VARIABLE = "EVENTJOBS_PASSWORD"

#: How long the server is asked to hold each status request while the
#: client waits: short enough to refresh the progress bar every second
#: (the server records progress at most once a second by default), long
#: enough without a display that a wait costs a request per half minute.
#: The server caps both at its --max-wait; a finished job answers at once.
POLL_WITH_DISPLAY = 1.0
POLL_QUIET = 30.0

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

EXIT_CODES_TEXT = """\
exit codes: 0 success (a fetched result is 2xx), 1 the result is not 2xx or the
server refused the request, 2 usage, 3 no such job, 4 cannot connect, 5 not
authorized, 6 still pending, 130 interrupted. See docs/cli-client.md."""


# -- argument types: each raises ArgumentTypeError with the fix --------------------


def job_id(text: str) -> int:
    if not (text.isascii() and text.isdigit() and text[0] != "0"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a job id: ids are whole numbers from 1, as submit prints them"
        )
    return int(text)


def delete_target(text: str) -> int | str:
    if text in ("all", "expired"):
        return text
    try:
        return job_id(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a job id nor 'all' nor 'expired'"
        ) from None


def header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{text!r} is not a header: write NAME:VALUE")
    if any(char in value for char in "\r\n\0"):
        raise argparse.ArgumentTypeError(f"the value of header {name!r} holds a line break")
    if name.lower() in ("x-arango-async", "content-length", "host"):
        raise argparse.ArgumentTypeError(f"submit sets the {name} header itself")
    return name, value


def method(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an HTTP method (GET, POST, PUT...)")
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
        datetime.fromtimestamp(seconds, timezone.utc)  # shown back to the user
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    except (OverflowError, OSError):
        raise argparse.ArgumentTypeError(f"{text!r} is too far from today to be a time") from None
    return seconds


def positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


# -- the parser ----------------------------------------------------------------------


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--url, --user, --verbose: accepted before and after the subcommand
    (after it, SUPPRESS keeps an absent option from hiding one given before)."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--url", default=default(None), metavar="URL",
        help=f"the server (default ${URL_VARIABLE}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--user", default=default(None), metavar="NAME",
        help=f"authenticate as NAME (default ${USER_VARIABLE}); the password comes from "
        f"${PASSWORD_VARIABLE} or a prompt, never the command line",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False),
        help="trace each request and answer on stderr (instead of the spinner)",
    )


def add_parser(commands: Any) -> None:
    """Add the ``job`` command and its subcommands to *commands*."""
    parser = commands.add_parser(
        "job",
        help="submit, watch and act on the jobs of a running server (a client)",
        description="A client of a running eventjobs server, over HTTP.",
        epilog=EXIT_CODES_TEXT,
    )
    _connection_options(parser, top=True)
    actions = parser.add_subparsers(dest="job_command", required=True, metavar="ACTION")

    def action(name: str, text: str, description: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(
            name, help=text, description=description, epilog=EXIT_CODES_TEXT
        )
        _connection_options(sub, top=False)
        sub.set_defaults(job_parser=sub)
        return sub

    submit = action(
        "submit", "send a request as a stored job; print its id",
        "Send METHOD PATH with x-arango-async: store and print the job id; with "
        "--wait, wait for the job and print its result body instead.",
    )
    submit.add_argument("method", type=method, metavar="METHOD")
    submit.add_argument("path", type=request_path, metavar="PATH", help="with its query string")
    submit.add_argument(
        "-d", "--data", metavar="@FILE|TEXT|@-",
        help="the request body: the bytes of FILE, TEXT as UTF-8, or standard input",
    )
    submit.add_argument(
        "-H", "--header", type=header, action="append", default=[], dest="headers",
        metavar="NAME:VALUE", help="a request header (repeatable)",
    )
    _wait_options(submit)

    status = action(
        "status", "print done, pending or cancelling (and progress)",
        "Print the job's state: done (its result waits to be fetched), pending, or "
        "cancelling, followed by its latest progress if it reported any.",
    )
    status.add_argument("id", type=job_id, metavar="ID")

    fetch = action(
        "fetch", "print a job's result (the server then forgets it)",
        "Print the result body of a finished job on stdout; the server hands a "
        "result out once. A job still pending exits 6 unless --wait.",
    )
    fetch.add_argument("id", type=job_id, metavar="ID")
    _wait_options(fetch)

    cancel = action("cancel", "ask a job to stop", "Ask a pending job to stop; "
                    "its result becomes 410 (fetch it to see).")
    cancel.add_argument("id", type=job_id, metavar="ID")

    listing = action("list", "print the ids of pending or done jobs, one a line",
                     "Print the ids of your pending or done jobs, ascending, one a line.")
    listing.add_argument("which", choices=("pending", "done"))
    listing.add_argument(
        "--count", type=positive_int, default=None, metavar="N",
        help="at most N ids (the server's default: 100)",
    )

    delete = action(
        "delete", "forget a job, all jobs, or those older than --before",
        "Delete one job (a pending one keeps running; its result is thrown away), "
        "all your jobs, or with 'expired --before TIME' those whose creation (pending) "
        "or completion (done) time is before TIME.",
    )
    delete.add_argument("target", type=delete_target, metavar="ID|all|expired")
    delete.add_argument(
        "--before", type=time_value, default=None, metavar="TIME",
        help="with expired: ISO 8601 (2026-11-29T12:00:00Z; UTC when no zone) or unix seconds",
    )


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w", "--wait", action="store_true",
        help="wait for the job to finish (spinner or progress bar on a terminal's stderr), "
        "then print its result",
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=None, metavar="SECONDS",
        help="with --wait: give up after SECONDS (exit 6), leaving the job alone",
    )


# -- running a command ------------------------------------------------------------------


class _Interrupted(Exception):
    """Ctrl-C, with what to tell the user about the job."""


class _Usage(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    """Carry out the parsed ``job`` command; the exit status."""
    command = f"eventjobs job {args.job_command}"
    parser: argparse.ArgumentParser = args.job_parser
    try:
        _check_combinations(args)
        api = _api(args)
        return _COMMANDS[args.job_command](api, args)
    except _Usage as error:
        parser.error(str(error))
    except BadURL as error:
        parser.error(f"--url: {error}")
    except CannotConnect as error:
        _say(command, f"{error}; check --url (or ${URL_VARIABLE}) and that the server is running")
        return EXIT_CANNOT_CONNECT
    except NotAuthorized as error:
        _say(command, _not_authorized(args, error.answer.status))
        return EXIT_NOT_AUTHORIZED
    except JobNotFound as error:
        _say(command, str(error))
        return EXIT_NOT_FOUND
    except Refused as error:
        _say(command, str(error))
        return EXIT_ERROR_RESULT
    except _Interrupted as error:
        _say(command, f"interrupted: {error}")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _say(command, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (| head): stop quietly, as a shell tool does.
        _silence_stdout()
        return EXIT_OK


def _say(command: str, message: str) -> None:
    print(f"{command}: {message}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _check_combinations(args: argparse.Namespace) -> None:
    if args.job_command == "delete":
        if args.target == "expired" and args.before is None:
            raise _Usage("delete expired needs --before TIME")
        if args.target != "expired" and args.before is not None:
            raise _Usage("--before goes with delete expired only")
    if getattr(args, "timeout", None) is not None and not args.wait:
        raise _Usage("--timeout goes with --wait")


def _api(args: argparse.Namespace) -> JobAPI:
    url = args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    connection = Connection(url)  # BadURL before any prompt
    user = args.user or os.environ.get(USER_VARIABLE) or None
    if user is not None:
        if ":" in user:
            raise _Usage(f"user name {user!r} holds a colon, which HTTP Basic cannot carry")
        connection.authorization = basic_authorization(user, _password(user, url))
    return JobAPI(connection, trace=_trace if args.verbose else None)


def _password(user: str, url: str) -> str:
    """From $EVENTJOBS_PASSWORD, else asked on the terminal (never echoed)."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    with warnings.catch_warnings():
        # getpass falls back to reading stdin, with a warning, when there is
        # no terminal: stdin may be the --data, so refuse instead.
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            password = getpass.getpass(f"password for {user} at {url}: ")
        except getpass.GetPassWarning:
            raise _Usage(
                f"no password for {user!r}: set {PASSWORD_VARIABLE}, or run where a "
                "terminal can prompt for it"
            ) from None
        except EOFError:
            raise _Usage(f"no password given for {user!r}") from None
    return password


def _not_authorized(args: argparse.Namespace, status: int) -> str:
    user = args.user or os.environ.get(USER_VARIABLE)
    if status == 403:
        return f"{status}: the server does not let {user or 'you'} do this"
    if user is None:
        return (
            f"{status}: the server asks for credentials: pass --user NAME (password from "
            f"${PASSWORD_VARIABLE} or the prompt)"
        )
    return f"{status}: the server refused the credentials of {user!r}: check the name and password"


def _trace(method: str, target: str, answer: Answer | None) -> None:
    if answer is None:
        print(f"> {method} {target}", file=sys.stderr)
        return
    lines = [f"< {answer.status_line}"]
    lines += [f"< {name}: {value}" for name, value in answer.headers]
    print("\n".join(lines), file=sys.stderr, flush=True)


# -- the subcommands --------------------------------------------------------------------


def _submit(api: JobAPI, args: argparse.Namespace) -> int:
    body = _body(args.data)
    try:
        submitted = api.submit(args.method, args.path, body, args.headers)
    except KeyboardInterrupt:
        raise _Interrupted(
            "before the server answered; the job may have been created (see "
            "'eventjobs job list pending')"
        ) from None
    if not args.wait:
        print(submitted, flush=True)
        return EXIT_OK
    if args.verbose:
        print(f"job {submitted} submitted", file=sys.stderr, flush=True)
    return _wait_and_fetch(api, submitted, args)


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as file:
                return file.read()
        except OSError as error:
            raise _Usage(f"cannot read --data file {data[1:]!r}: {error.strerror}") from None
    return data.encode()


def _status(api: JobAPI, args: argparse.Namespace) -> int:
    state = api.status(args.id)
    print(DONE if state == DONE else _describe(state), flush=True)
    return EXIT_OK


def _describe(pending: Pending) -> str:
    text = pending.state
    if pending.progress is not None:
        fraction, message = pending.progress
        text += f" {fraction * 100:.0f}%"
        if message:
            text += " " + " ".join(message.split())
    return text


def _fetch(api: JobAPI, args: argparse.Namespace) -> int:
    if args.wait:
        return _wait_and_fetch(api, args.id, args)
    result = api.fetch(args.id)
    if isinstance(result, Pending):
        _say(
            "eventjobs job fetch",
            f"job {args.id} is {_describe(result)}: fetch it later, or with --wait",
        )
        return EXIT_PENDING
    return _print_result(args, args.id, result)


def _wait_and_fetch(api: JobAPI, waited: int, args: argparse.Namespace) -> int:
    display = Silent() if args.verbose else display_for(sys.stderr, waited)
    poll = POLL_QUIET if isinstance(display, Silent) else POLL_WITH_DISPLAY
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        with display:
            done = api.wait(waited, poll=poll, deadline=deadline, on_pending=display.update)
    except KeyboardInterrupt:
        raise _Interrupted(
            f"job {waited} is left as it was, still running or waiting to be fetched; "
            f"get its result later with 'eventjobs job fetch {waited} --wait'"
        ) from None
    if not done:
        _say(
            f"eventjobs job {args.job_command}",
            f"job {waited} is still pending after {args.timeout:g} s; it is left alone: "
            f"'eventjobs job fetch {waited} --wait' gets its result later",
        )
        return EXIT_PENDING
    try:
        result = api.fetch(waited)
    except KeyboardInterrupt:
        raise _Interrupted(
            f"while fetching job {waited}'s result: the server may have handed it out already"
        ) from None
    if isinstance(result, Pending):  # done is final, but be honest if not
        _say(f"eventjobs job {args.job_command}", f"job {waited} is pending again")
        return EXIT_PENDING
    return _print_result(args, waited, result)


def _print_result(args: argparse.Namespace, fetched: int, answer: Answer) -> int:
    """The body on stdout as it is (plus a newline on a terminal, so the
    prompt does not stick to it); a line on stderr when it is not 2xx
    (``--verbose`` has already shown the status and headers)."""
    out = sys.stdout.buffer
    out.write(answer.body)
    if sys.stdout.isatty() and answer.body and not answer.body.endswith(b"\n"):
        out.write(b"\n")
    out.flush()
    if 200 <= answer.status < 300:
        return EXIT_OK
    _say(f"eventjobs job {args.job_command}", f"job {fetched} answered {answer.status_line}")
    return EXIT_ERROR_RESULT


def _cancel(api: JobAPI, args: argparse.Namespace) -> int:
    api.cancel(args.id)
    print(f"job {args.id}: cancel requested", flush=True)
    return EXIT_OK


def _list(api: JobAPI, args: argparse.Namespace) -> int:
    ids = api.list(args.which, args.count)
    sys.stdout.write("".join(f"{listed}\n" for listed in ids))
    sys.stdout.flush()
    return EXIT_OK


def _delete(api: JobAPI, args: argparse.Namespace) -> int:
    if args.target == "expired":
        api.delete("expired", before=args.before)
        moment = datetime.fromtimestamp(args.before, timezone.utc).isoformat()
        print(f"deleted the jobs stamped before {moment.replace('+00:00', 'Z')}", flush=True)
    elif args.target == "all":
        api.delete("all")
        print("deleted all jobs", flush=True)
    else:
        api.delete(args.target)
        print(f"deleted job {args.target}", flush=True)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[JobAPI, argparse.Namespace], int]] = {
    "submit": _submit,
    "status": _status,
    "fetch": _fetch,
    "cancel": _cancel,
    "list": _list,
    "delete": _delete,
}
