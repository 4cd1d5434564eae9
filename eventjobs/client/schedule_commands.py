"""``eventjobs schedule add|list|remove``: running them, their output and
exit codes (docs/cli-client.md; the arguments are in :mod:`.schedule_arguments`).

Standard output carries only what a script wants: the new schedule's id,
the table of schedules, or one line saying what was removed; failures are
one sentence on stderr and the exit codes of ``eventjobs job``
(:mod:`.commands`; 3 is "no such schedule").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from .commands import EXIT_OK, Usage, connect, guarded, read_body
from .schedule_api import Recurring, Schedule, ScheduleAPI
from .schedule_arguments import add_parser

__all__ = ["add_parser", "run"]

#: The columns of ``schedule list``.
HEADINGS = ("ID", "WHEN", "NEXT FIRING (UTC)", "REQUEST")


def run(args: argparse.Namespace) -> int:
    """Carry out the parsed ``schedule`` command; the exit status."""

    def carry_out() -> int:
        if args.schedule_command == "add":  # a bad body before a password prompt
            args.body = _text_body(args.data)
            if args.timezone is not None and args.every is not None:
                raise Usage("--timezone goes with --cron only")
        return _COMMANDS[args.schedule_command](connect(args, ScheduleAPI), args)

    command = f"eventjobs schedule {args.schedule_command}"
    return guarded(command, args.schedule_parser, args, carry_out)


def _text_body(data: str | None) -> str:
    body = read_body(data) or b""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Usage(
            "the --data of a schedule is sent as JSON text: it must be UTF-8"
        ) from None


def _add(api: ScheduleAPI, args: argparse.Namespace) -> int:
    recurring = Recurring(
        cron=args.cron,
        every=args.every,
        timezone=args.timezone,
        catch_up=args.catch_up,
    )
    schedule_id = api.add(recurring, args.method, args.path, args.body, args.headers)
    print(schedule_id, flush=True)
    return EXIT_OK


def _list(api: ScheduleAPI, args: argparse.Namespace) -> int:
    rows = [HEADINGS, *(_row(schedule) for schedule in api.schedules())]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [
        "  ".join(
            cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)
        )
        + "  "
        + row[3]
        for row in rows
    ]
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()
    return EXIT_OK


def _row(schedule: Schedule) -> tuple[str, str, str, str]:
    if schedule.cron is not None:
        when = f"cron {schedule.cron}"
        if schedule.timezone:
            when += f" ({schedule.timezone})"
    else:
        when = f"every {schedule.every:g}s"
    if schedule.catch_up != "latest":
        when += f", catch-up {schedule.catch_up}"
    target = schedule.path + (f"?{schedule.query}" if schedule.query else "")
    return (
        str(schedule.schedule_id),
        when,
        _moment(schedule.next_firing),
        f"{schedule.method} {target}",
    )


def _moment(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    moment = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    return moment.replace("+00:00", "Z")


def _remove(api: ScheduleAPI, args: argparse.Namespace) -> int:
    api.remove(args.id)
    print(f"removed schedule {args.id}", flush=True)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[ScheduleAPI, argparse.Namespace], int]] = {
    "add": _add,
    "list": _list,
    "remove": _remove,
}
