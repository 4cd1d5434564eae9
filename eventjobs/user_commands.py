"""``eventjobs users add|remove|list|passwd --file FILE [NAME]``.

Each command reads the users file, changes it and writes it back atomically
(owner-only permissions). Passwords are read from the terminal (asked twice)
or, with ``--password-stdin``, as the first line of standard input, and are
stored only as scrypt hashes. Every failure ends with exit status 1 and one
sentence on stderr; nothing is written then.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from . import users
from .errors import ConfigError


def add_parser(commands: Any) -> None:
    """Add the ``users`` command and its subcommands to *commands*."""
    parser = commands.add_parser("users", help="manage the users file of --users")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("add", "add a user"),
        ("remove", "remove a user"),
        ("list", "list the users"),
        ("passwd", "change a user's password"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--file", required=True, metavar="FILE", help="the users file")
        if action != "list":
            sub.add_argument("name", metavar="NAME")
        if action in ("add", "passwd"):
            sub.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password from the first line of standard input",
            )
        if action == "add":
            sub.add_argument(
                "--superuser", action="store_true", help="may see every job"
            )


def run(args: argparse.Namespace) -> int:
    """Carry out the parsed ``users`` command; the exit status."""
    try:
        if args.action == "list":
            for user in sorted(
                _existing(args.file).values(), key=lambda user: user.name
            ):
                print(f"{user.name}{' (superuser)' if user.superuser else ''}")
            return 0
        name = users.check_name(args.name)
        if args.action == "add":
            known = _existing(args.file) if os.path.exists(args.file) else {}
            if name in known:
                raise ConfigError(
                    f"user {name!r} already exists; use 'eventjobs users passwd'"
                )
            known[name] = users.User(
                name, users.hash_password(_password(args)), args.superuser
            )
        else:
            known = _existing(args.file)
            if name not in known:
                raise ConfigError(f"there is no user {name!r} in {args.file!r}")
            if args.action == "remove":
                del known[name]
            else:
                old = known[name]
                known[name] = users.User(
                    name, users.hash_password(_password(args)), old.superuser
                )
        users.save(args.file, known)
    except ConfigError as error:
        print(f"eventjobs: {error}", file=sys.stderr)
        return 1
    return 0


def _existing(path: str) -> dict[str, users.User]:
    return users.load(path)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        if not sys.stdin.isatty():
            raise ConfigError(
                "no terminal to ask for the password on; pass --password-stdin"
            )
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise ConfigError("the two passwords differ; nothing was changed")
    if not password:
        raise ConfigError("the password is empty; choose a non-empty one")
    return password
