"""``eventjobs job submit|status|fetch|cancel|list|delete``: running them,
their output and exit codes (docs/cli-client.md; the arguments are in
:mod:`.arguments`).

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
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from .api import DONE, JobAPI, JobNotFound, NotAuthorized, Pending, Refused
from .arguments import PASSWORD_VARIABLE, URL_VARIABLE, USER_VARIABLE, add_parser
from .connection import (
    DEFAULT_URL,
    Answer,
    BadURL,
    CannotConnect,
    Connection,
    basic_authorization,
)
from .display import Silent, display_for

__all__ = ["Usage", "add_parser", "connect", "guarded", "read_body", "run"]

API = TypeVar("API", bound=JobAPI)

EXIT_OK = 0
EXIT_ERROR_RESULT = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CANNOT_CONNECT = 4
EXIT_NOT_AUTHORIZED = 5
EXIT_PENDING = 6
EXIT_INTERRUPTED = 130

#: How long the server is asked to hold each status request while the
#: client waits: short enough to refresh the progress bar every second
#: (the server records progress at most once a second by default), long
#: enough without a display that a wait costs a request per half minute.
#: The server caps both at its --max-wait; a finished job answers at once.
POLL_WITH_DISPLAY = 1.0
POLL_QUIET = 30.0


# -- running a command ------------------------------------------------------------------


class _Interrupted(Exception):
    """Ctrl-C, with what to tell the user about the job."""


class Usage(Exception):
    """Arguments that do not go together: argparse's usage error (exit 2)."""


def run(args: argparse.Namespace) -> int:
    """Carry out the parsed ``job`` command; the exit status."""

    def carry_out() -> int:
        _check_combinations(args)
        if args.job_command == "submit":  # a missing file before a password prompt
            args.body = read_body(args.data)
        return _COMMANDS[args.job_command](connect(args), args)

    return guarded(
        f"eventjobs job {args.job_command}", args.job_parser, args, carry_out
    )


def guarded(
    command: str,
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    carry_out: Callable[[], int],
) -> int:
    """*carry_out*'s exit status, every failure of a client command turned
    into its one sentence (prefixed *command*) and exit code (module
    docstring); usage errors through *parser* (exit 2)."""
    try:
        return carry_out()
    except Usage as error:
        parser.error(str(error))
    except BadURL as error:
        parser.error(f"--url: {error}")
    except CannotConnect as error:
        _say(
            command,
            f"{error}; check --url (or ${URL_VARIABLE}) and that the server is running",
        )
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
            raise Usage("delete expired needs --before TIME")
        if args.target != "expired" and args.before is not None:
            raise Usage("--before goes with delete expired only")
    if getattr(args, "timeout", None) is not None and not args.wait:
        raise Usage("--timeout goes with --wait")


def connect(args: argparse.Namespace, kind: type[API] = JobAPI) -> API:  # type: ignore[assignment]
    """A *kind* of API (the job API, or one built on it) of the server that
    ``--url``, ``--user`` and ``--verbose`` (or the environment) name; asks
    for the password first when there is a user."""
    url = args.url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    connection = Connection(url)  # BadURL before any prompt
    user = args.user or os.environ.get(USER_VARIABLE) or None
    if user is not None:
        if ":" in user:
            raise Usage(
                f"user name {user!r} holds a colon, which HTTP Basic cannot carry"
            )
        connection.authorization = basic_authorization(user, _password(user, url))
    return kind(connection, trace=_trace if args.verbose else None)


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
            raise Usage(
                f"no password for {user!r}: set {PASSWORD_VARIABLE}, or run where a "
                "terminal can prompt for it"
            ) from None
        except EOFError:
            raise Usage(f"no password given for {user!r}") from None
    return password


def _not_authorized(args: argparse.Namespace, status: int) -> str:
    user = args.user or os.environ.get(USER_VARIABLE) or None
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
    try:
        submitted = api.submit(args.method, args.path, args.body, args.headers)
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


def read_body(data: str | None) -> bytes | None:
    """The bytes ``--data`` names: a file's (``@FILE``), standard input's
    (``@-``), or the text itself as UTF-8."""
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as file:
                return file.read()
        except OSError as error:
            raise Usage(
                f"cannot read --data file {data[1:]!r}: {error.strerror}"
            ) from None
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
            done = api.wait(
                waited, poll=poll, deadline=deadline, on_pending=display.update
            )
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
    _say(
        f"eventjobs job {args.job_command}",
        f"job {fetched} answered {answer.status_line}",
    )
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
        moment = datetime.fromtimestamp(args.before, UTC).isoformat()
        print(
            f"deleted the jobs stamped before {moment.replace('+00:00', 'Z')}",
            flush=True,
        )
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
