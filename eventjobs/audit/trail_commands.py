"""The audit-trail subcommands of ``eventjobs journal`` (docs/audit.md).

* ``checkpoint DIR|URL --key PREFIX.key``: sign a checkpoint of the journal
  as it is now, keep it with the journal, print it;
* ``receipt DIR|URL JOB``: print a job's receipt (JSON) against the newest
  kept checkpoint;
* ``verify-receipt FILE --key PREFIX.pub``: check a receipt with nothing
  but it and the verifier key;
* ``monitor URL --key PREFIX.pub --store DIR [--once] [--interval S]``:
  hold a server to the history it showed (:mod:`.monitor`);
* ``verify DIR|URL --checkpoint FILE --key PREFIX.pub`` (with the other
  checks of ``verify``): :func:`verify_checkpoint` here;
* ``show DIR|URL JOB --key PREFIX.pub`` (after the job's timeline): its
  receipt status, :func:`receipt_status` here.

Problems end a command with one sentence on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError, JournalCorrupt
from ..numbers import parse_job_id
from ..signed_note import NoteError, Signer, Verifier
from .reading import NoJournal, source_of
from .receipts import BadReceipt, verify_receipt
from .trail import TrailError, check_extends, receipt_of, sign_offline

COMMANDS = ("checkpoint", "receipt", "verify-receipt", "monitor")

log = logging.getLogger("eventjobs.monitor")


class CommandError(Exception):
    """A problem the user can fix; the message says what."""


def add_commands(journal_commands: Any) -> None:
    """Add the audit-trail commands to the ``eventjobs journal`` subparsers."""

    def command(name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = journal_commands.add_parser(
            name, help=help, description=help
        )
        return parser

    checkpoint = command(
        "checkpoint", "sign a checkpoint of the journal's Merkle tree now and keep it"
    )
    checkpoint.add_argument("directory", metavar="DIR|URL")
    checkpoint.add_argument("--key", required=True, metavar="PREFIX.key")
    receipt = command("receipt", "a job's receipt: its records, proved in a checkpoint")
    receipt.add_argument("directory", metavar="DIR|URL")
    receipt.add_argument("job", metavar="JOB_ID")
    verify = command(
        "verify-receipt", "check a receipt with nothing but it and the verifier key"
    )
    verify.add_argument("file", metavar="FILE", help="the receipt (JSON); - for stdin")
    verify.add_argument("--key", required=True, metavar="PREFIX.pub")
    monitor = command(
        "monitor", "check that a server's checkpoints only ever extend what it showed"
    )
    monitor.add_argument(
        "url", metavar="URL", help="the server, e.g. http://127.0.0.1:8529"
    )
    monitor.add_argument("--key", required=True, metavar="PREFIX.pub")
    monitor.add_argument(
        "--store",
        required=True,
        metavar="DIR",
        help="where the checkpoints seen are kept",
    )
    monitor.add_argument(
        "--once", action="store_true", help="one round; exit status 1 on an alert"
    )
    monitor.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between rounds (default 60)",
    )
    monitor.add_argument(
        "--user",
        metavar="NAME",
        help="authenticate as NAME (password in EVENTJOBS_PASSWORD)",
    )


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    """``verify --checkpoint FILE --key PREFIX.pub``."""
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="also check that the journal extends this signed checkpoint (needs --key)",
    )
    parser.add_argument(
        "--key", metavar="PREFIX.pub", help="the verifier key of the checkpoint"
    )


def add_show_options(parser: argparse.ArgumentParser) -> None:
    """``show --key PREFIX.pub``."""
    parser.add_argument(
        "--key",
        metavar="PREFIX.pub",
        help="also prove the job's records in the newest checkpoint kept with the "
        "journal, signed by this verifier key (its receipt status)",
    )


def receipt_status(source: Any, job_id: int, key: str) -> tuple[str, int]:
    """The receipt status line of job *job_id* (``receipt: in checkpoint N,
    proof verified ...`` or ``receipt: NOT PROVED: why``) and the exit
    status (1 when not proved). The receipt is made from the journal and
    checked as ``verify-receipt`` checks it, with the key alone.

    Raises:
        CommandError: the key cannot be read.
    """
    verifier = read_verifier(key)
    try:
        receipt = receipt_of(source, job_id)
        checkpoint = verify_receipt(receipt, [verifier])
    except (TrailError, BadReceipt) as error:
        return f"receipt: NOT PROVED: {error}\n", 1
    seqs = ", ".join(str(entry["seq"]) for entry in receipt["records"])
    return (
        f"receipt: in checkpoint {checkpoint.size} (signed by {verifier.name}), proof "
        f"verified for its {len(receipt['records'])} records of the job (seq {seqs})\n",
        0,
    )


def read_verifier(path: str) -> Verifier:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read the key {path!r}: {error}") from None
    try:
        return Verifier.parse(text)
    except NoteError as error:
        raise CommandError(
            f"{path!r} is not a verifier key ({error}); give the PREFIX.pub file of "
            "'eventjobs journal keygen'"
        ) from None


def read_signer(path: str) -> Signer:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read the key {path!r}: {error}") from None
    try:
        return Signer.parse(text)
    except NoteError as error:
        raise CommandError(
            f"{path!r} is not a signer key ({error}); give the PREFIX.key file of "
            "'eventjobs journal keygen'"
        ) from None


def verify_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    """The ``--checkpoint`` part of ``journal verify``; the exit status."""
    if args.key is None:
        raise CommandError("--checkpoint needs --key PREFIX.pub (the verifier key)")
    verifier = read_verifier(args.key)
    try:
        note = Path(args.checkpoint).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(
            f"cannot read the checkpoint {args.checkpoint!r}: {error}"
        ) from None
    try:
        extends = check_extends(source_of(args.directory), note, [verifier])
    except TrailError as error:
        out.write(f"NOT EXTENDED: {error}\n")
        return 1
    out.write(
        f"ok: the journal ({extends.size} records) extends the checkpoint of "
        f"{extends.checkpoint.size} records ({args.checkpoint}); the consistency proof "
        "holds\n"
    )
    return 0


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the command *args* names; return the exit status."""
    out = sys.stdout if out is None else out
    name = args.journal_command
    try:
        if name == "checkpoint":
            note = sign_offline(source_of(args.directory), read_signer(args.key))
            out.write(note)
            return 0
        if name == "receipt":
            receipt = receipt_of(source_of(args.directory), parse_job_id(args.job))
            out.write(json.dumps(receipt, indent=2) + "\n")
            return 0
        if name == "verify-receipt":
            return _verify_receipt(args, out)
        return _monitor(args, out)
    except (
        CommandError,
        TrailError,
        NoJournal,
        JournalCorrupt,
        ConfigError,
        ValueError,
        OSError,
    ) as error:
        print(f"eventjobs journal {name}: {error}", file=sys.stderr)
        return 1


def _verify_receipt(args: argparse.Namespace, out: TextIO) -> int:
    verifier = read_verifier(args.key)
    try:
        text = (
            sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        )
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read the receipt {args.file!r}: {error}") from None
    try:
        receipt = json.loads(text)
    except ValueError as error:
        raise CommandError(f"{args.file!r} is not JSON ({error})") from None
    try:
        checkpoint = verify_receipt(receipt, [verifier])
    except BadReceipt as error:
        out.write(f"NOT PROVED: {error}\n")
        return 1
    seqs = ", ".join(str(entry["seq"]) for entry in receipt["records"])
    out.write(
        f"ok: {len(receipt['records'])} records of job {receipt['job']} (seq {seqs}) are "
        f"in the journal {checkpoint.origin}, checkpoint of {checkpoint.size} records "
        f"signed by {verifier.name}\n"
    )
    return 0


def _monitor(args: argparse.Namespace, out: TextIO) -> int:
    from ..client.connection import BadURL, basic_authorization
    from .monitor import Alert, Unreachable, make_monitor

    verifier = read_verifier(args.key)
    authorization = None
    if args.user is not None:
        password = os.environ.get("EVENTJOBS_PASSWORD")
        if password is None:
            raise CommandError("--user needs the password in EVENTJOBS_PASSWORD")
        authorization = basic_authorization(args.user, password)
    try:
        monitor = make_monitor(args.url, [verifier], Path(args.store), authorization)
    except BadURL as error:
        raise CommandError(str(error)) from None
    while True:
        try:
            out.write(monitor.check() + "\n")
            out.flush()
        except Alert as alert:
            if args.once:
                out.write(f"ALERT: {alert}\n")
                return 1
            log.error("ALERT: %s", alert)
        except Unreachable as error:
            if args.once:
                raise CommandError(str(error)) from None
            log.warning("%s", error)
        if args.once:
            return 0
        time.sleep(args.interval)
