"""C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint).

A checkpoint is a signed note whose text is the origin (the log's unique
name), the tree size in decimal, the base64 of the RFC 9162 root hash of
the tree of that size, and optional extension lines, each ending with a
newline::

    example.com/journal
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — example.com/journal Az3grlgtzPICa5OS8npVmf1M...

Pure: parsing, formatting, signing and opening with given keys.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .merkle import decode_hash, encode_hash
from .signed_note import NoteError, Signer, Verifier, open_note, sign_note


@attrs.frozen
class Checkpoint:
    """A tree head: which log, how many leaves, and their root hash."""

    origin: str
    size: int
    root: bytes = attrs.field(repr=lambda root: encode_hash(root))
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text (every line ending with a newline)."""
        lines = [self.origin, str(self.size), encode_hash(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint whose note text is *text*.

        Raises:
            NoteError: *text* is not a checkpoint body.
        """
        if not text.endswith("\n"):
            raise NoteError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(
                "a checkpoint has an origin line, a tree size line and a root hash line"
            )
        origin, size, root, *extensions = lines
        if not origin:
            raise NoteError("a checkpoint's origin line must not be empty")
        if (
            not size.isascii()
            or not size.isdigit()
            or (size != "0" and size.startswith("0"))
        ):
            raise NoteError(
                f"a checkpoint's tree size is a decimal number without leading zeros, not {size!r}"
            )
        try:
            root_hash = decode_hash(root)
        except ValueError as error:
            raise NoteError(f"a checkpoint's root hash line: {error}") from None
        if any(not line for line in extensions):
            raise NoteError("a checkpoint's extension lines must not be empty")
        return cls(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note of *checkpoint* (its text and one signature line)."""
    return sign_note(checkpoint.body(), signer)


def open_checkpoint(message: str | bytes, verifiers: Iterable[Verifier]) -> Checkpoint:
    """The checkpoint in the signed note *message*, once a signature by one
    of *verifiers* has verified.

    Raises:
        NoteError: the note is malformed or unsigned by a known key, or its
            text is not a checkpoint.
    """
    return Checkpoint.parse(open_note(message, verifiers).text)
