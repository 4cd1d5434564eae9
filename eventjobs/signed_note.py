"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

A note is a text ending in a newline, then a blank line, then one line per
signature: an em dash, a space, the key name, a space, and the base64 of the
4-byte key ID (big-endian) followed by the signature of the text::

    example.com/journal
    42
    <base64 root hash>

    — example.com/journal Az3grl...

Keys are written as golang.org/x/mod/sumdb/note writes them (the format
transparency-log tools exchange), both starting with the key name and the
key ID in 8 lowercase hex digits:

* signer (secret): ``PRIVATE+KEY+<name>+<id>+<base64(0x01 || 32-byte seed)>``
* verifier:        ``<name>+<id>+<base64(0x01 || 32-byte public key)>``

where 0x01 is the signed-note signature type of Ed25519 and the ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``.

Pure: no files, no clock; key generation draws from the operating system's
random source through the ``cryptography`` package. Everything a user can
get wrong (a bad name, a damaged key text, a malformed note) raises
``NoteError`` (a ``ValueError``) with a sentence saying what.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: The signed-note signature type byte of Ed25519.
ALG_ED25519 = 0x01
#: Verifiers must accept at least 16 signatures; more than this is refused
#: (as golang.org/x/mod/sumdb/note does) so a huge note costs little.
MAX_SIGNATURES = 100
_PRIVATE_PREFIX = "PRIVATE+KEY+"
_DASH = "\u2014 "


class NoteError(ValueError):
    """A key, name or note is not what the signed-note format allows, or a
    note's signature does not verify; the message says which."""


def name_problem(name: str) -> str | None:
    """Why *name* cannot be a key name (non-empty, no ``+``, no Unicode
    space, no control character), or None when it can."""
    if not name:
        return "a key name must not be empty"
    if "+" in name:
        return (
            f"the key name {name!r} contains '+', which the signed-note format forbids"
        )
    for char in name:
        if char.isspace():
            return f"the key name {name!r} contains a space ({char!r}), which the signed-note format forbids"
        if ord(char) < 0x20:
            return f"the key name {name!r} contains a control character ({char!r})"
    return None


def check_name(name: str) -> None:
    """Raises NoteError when *name* cannot be a key name."""
    problem = name_problem(name)
    if problem is not None:
        raise NoteError(problem)


def key_id(name: str, public_key: bytes) -> int:
    """The key ID of the Ed25519 key *public_key* (32 bytes) named *name*."""
    digest = hashlib.sha256(
        name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _decode_key(text: str, what: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"the {what}'s key is not base64") from None
    if len(key) != 33 or key[0] != ALG_ED25519:
        kind = "no key" if not key else f"algorithm {key[0]}"
        if key and key[0] == ALG_ED25519:
            kind = f"an Ed25519 key of {len(key) - 1} bytes"
        raise NoteError(
            f"the {what} holds {kind}; only 32-byte Ed25519 keys (type 1) are supported"
        )
    return key[1:]


def _split_id(rest: str, what: str) -> tuple[str, int, str]:
    """``name+id+key`` -> (name, id, key text)."""
    parts = rest.split("+", 2)
    if len(parts) != 3:
        raise NoteError(
            f"a {what} has the form {'PRIVATE+KEY+' if what == 'signer key' else ''}NAME+ID+KEY"
        )
    name, hex_id, key_text = parts
    check_name(name)
    if len(hex_id) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hex_id):
        raise NoteError(f"the {what}'s key ID {hex_id!r} is not 8 hex digits")
    return name, int(hex_id, 16), key_text


@attrs.frozen
class Verifier:
    """An Ed25519 verifier key: checks signatures by *name* / *key_id*."""

    name: str
    key_id: int
    public_key: bytes = attrs.field(repr=False)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """The verifier key written as ``NAME+ID+BASE64`` (surrounding
        whitespace ignored).

        Raises:
            NoteError: it is not such a key, or its ID does not match.
        """
        text = text.strip()
        if text.startswith(_PRIVATE_PREFIX):
            raise NoteError(
                "this is a signer (private) key; a verifier key is expected"
            )
        name, stated, key_text = _split_id(text, "verifier key")
        public = _decode_key(key_text, "verifier key")
        if key_id(name, public) != stated:
            raise NoteError(
                f"the verifier key's ID {stated:08x} is not the ID of its key"
            )
        return cls(name, stated, public)

    def encode(self) -> str:
        """``NAME+ID+BASE64``."""
        key = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{key}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether *signature* (64 bytes, without the key ID) signs *message*."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature, message
            )
        except InvalidSignature:
            return False
        return True


@attrs.frozen
class Signer:
    """An Ed25519 signer key (secret)."""

    name: str
    key_id: int
    _seed: bytes = attrs.field(repr=False, alias="seed")

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key named *name*.

        Raises:
            NoteError: *name* cannot be a key name.
        """
        check_name(name)
        return cls.from_seed(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """The key named *name* whose RFC 8032 private key is *seed* (32 bytes)."""
        check_name(name)
        public = _raw_public(Ed25519PrivateKey.from_private_bytes(seed).public_key())
        return cls(name, key_id(name, public), seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        """The signer key written as ``PRIVATE+KEY+NAME+ID+BASE64``
        (surrounding whitespace ignored).

        Raises:
            NoteError: it is not such a key, or its ID does not match.
        """
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError("a signer key starts with PRIVATE+KEY+")
        name, stated, key_text = _split_id(text[len(_PRIVATE_PREFIX) :], "signer key")
        signer = cls.from_seed(name, _decode_key(key_text, "signer key"))
        if signer.key_id != stated:
            raise NoteError(
                f"the signer key's ID {stated:08x} is not the ID of its key"
            )
        return signer

    def encode(self) -> str:
        """``PRIVATE+KEY+NAME+ID+BASE64``."""
        key = base64.b64encode(bytes([ALG_ED25519]) + self._seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id:08x}+{key}"

    def verifier(self) -> Verifier:
        """This key's verifier (public) key."""
        public = _raw_public(
            Ed25519PrivateKey.from_private_bytes(self._seed).public_key()
        )
        return Verifier(self.name, self.key_id, public)

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature (64 bytes) of *message*."""
        return Ed25519PrivateKey.from_private_bytes(self._seed).sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new key pair named *name*: (signer key text, verifier key text).

    Raises:
        NoteError: *name* cannot be a key name.
    """
    signer = Signer.generate(name)
    return signer.encode(), signer.verifier().encode()


@attrs.frozen
class Signature:
    """One signature line of a note."""

    name: str
    key_id: int
    #: The base64 of the key ID and the signature, as on the line.
    base64: str


@attrs.frozen
class Note:
    """An opened note: its text and the signatures that were verified."""

    text: str
    signatures: tuple[Signature, ...]
    #: Signatures by keys the reader did not know (ignored, as the spec says).
    unverified: tuple[Signature, ...] = ()


def _check_text(text: str) -> None:
    for char in text:
        if ord(char) < 0x20 and char != "\n":
            raise NoteError(f"a note must not contain control characters ({char!r})")


def sign_note(text: str, *signers: Signer) -> str:
    """The signed note of *text* (which must end with a newline) signed by
    each of *signers*.

    Raises:
        NoteError: *text* does not end with a newline, holds a control
            character, or no signer is given.
    """
    if not signers:
        raise NoteError("a note needs at least one signer")
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    _check_text(text)
    message = text.encode()
    lines = []
    for signer in signers:
        blob = signer.key_id.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{_DASH}{signer.name} {base64.b64encode(blob).decode('ascii')}\n")
    return text + "\n" + "".join(lines)


def open_note(message: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse the signed note *message* (text, or its UTF-8 bytes) and check
    its signatures.

    Signatures by keys not among *verifiers* (matched by name and key ID)
    are kept in ``unverified`` and otherwise ignored; a signature by a known
    key must verify.

    Raises:
        NoteError: the note is malformed, a known key's signature does not
            verify, or no known key signed it.
    """
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a signed note must be UTF-8 text") from None
    _check_text(message)
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError(
            "a signed note has a blank line between its text and its signatures"
        )
    text, block = message[: split + 1], message[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError(
            "a signed note ends with signature lines, each ending with a newline"
        )
    known = {(verifier.name, verifier.key_id): verifier for verifier in verifiers}
    verified: dict[tuple[str, int], Signature] = {}
    unverified: list[Signature] = []
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError(
                f"the signature line {line!r} does not start with an em dash and a space"
            )
        name, _, encoded = line[len(_DASH) :].partition(" ")
        if name_problem(name) is not None:
            raise NoteError(f"the signature line {line!r} has a malformed key name")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise NoteError(f"the signature of {name} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"the signature of {name} is too short")
        signature = Signature(name, int.from_bytes(blob[:4], "big"), encoded)
        verifier = known.get((name, signature.key_id))
        if verifier is None:
            if signature not in unverified:
                unverified.append(signature)
            continue
        if (name, signature.key_id) in verified:
            continue
        if not verifier.verify(text.encode(), blob[4:]):
            raise NoteError(
                f"the signature of {name}+{signature.key_id:08x} does not verify"
            )
        verified[(name, signature.key_id)] = signature
    if not verified:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in unverified)
        raise NoteError(
            f"the note is not signed by a known key (it is signed by {names})"
        )
    return Note(text, tuple(verified.values()), tuple(unverified))
