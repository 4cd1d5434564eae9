"""``eventjobs journal keygen --name NAME --out PREFIX``: a checkpoint key pair.

Writes a new Ed25519 signer key to ``PREFIX.key`` (readable by its owner
only, mode 0600) and its verifier key to ``PREFIX.pub``, in the C2SP
signed-note key formats ``PRIVATE+KEY+NAME+ID+BASE64`` and
``NAME+ID+BASE64`` (as golang.org/x/mod/sumdb/note writes them). The
signer key signs the journal's checkpoints; the verifier key is what
auditors keep to check them. Existing files are never overwritten.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..signed_note import NoteError, Signer


class CannotWrite(Exception):
    """A key file cannot be written; the message says why."""


def add_command(journal_commands: argparse._SubParsersAction) -> None:
    parser = journal_commands.add_parser(
        "keygen",
        help="make a key pair for signing checkpoints (PREFIX.key, PREFIX.pub)",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
    )
    parser.add_argument(
        "--name",
        required=True,
        help="the key's name, e.g. example.com/jobs (no spaces, no '+')",
    )
    parser.add_argument(
        "--out", required=True, metavar="PREFIX", help="write PREFIX.key and PREFIX.pub"
    )


def run(args: argparse.Namespace) -> int:
    """Make the key pair *args* asks for; return the exit status."""
    key_path, pub_path = Path(args.out + ".key"), Path(args.out + ".pub")
    try:
        signer = Signer.generate(args.name)
        write_pair(signer, key_path, pub_path)
    except (NoteError, CannotWrite) as error:
        print(f"eventjobs journal keygen: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote the signer key to {key_path} (keep it secret) and the verifier key to {pub_path}:"
    )
    print(signer.verifier().encode())
    return 0


def write_pair(signer: Signer, key_path: Path, pub_path: Path) -> None:
    """Write *signer*'s key to *key_path* (mode 0600) and its verifier key to
    *pub_path*, both new files.

    Raises:
        CannotWrite: either file exists, or cannot be created (nothing is
            left behind then).
    """
    for path in (key_path, pub_path):
        if path.exists() or path.is_symlink():
            raise CannotWrite(
                f"{path} already exists; choose another --out or remove it first"
            )
    _create(key_path, signer.encode() + "\n", 0o600)
    try:
        _create(pub_path, signer.verifier().encode() + "\n", 0o644)
    except CannotWrite:
        key_path.unlink()
        raise


def _create(path: Path, text: str, mode: int) -> None:
    try:
        # O_EXCL: a file that appeared since the check above is not
        # overwritten either, nor is a symbolic link followed. The file is
        # created with *mode* (a umask can only take bits away), so the key
        # is never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CannotWrite(
            f"{path} already exists; choose another --out or remove it first"
        ) from None
    except OSError as error:
        raise CannotWrite(f"cannot create {path}: {error.strerror}") from None
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    except OSError as error:
        os.close(fd)
        path.unlink()
        raise CannotWrite(f"cannot write {path}: {error.strerror}") from None
    os.close(fd)
