"""The users file: who may authenticate, with which password, as what.

The file is JSON::

    {"format": "eventjobs-users", "version": 1,
     "users": {"alice": {"password": "scrypt$16384$8$1$<salt>$<key>",
                         "superuser": false}}}

Passwords are stored only as salted scrypt hashes (memory-hard, from the
standard library); the cost parameters are kept in each hash so that they can
be raised later without invalidating stored passwords. Verification compares
in constant time.

:func:`load` refuses a file that is unreadable, malformed or world-writable
(anyone could make themselves superuser) with a :class:`ConfigError` of one
sentence. :func:`save` writes atomically, readable by the owner only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from typing import Any, Final

import attrs

from .errors import ConfigError

FORMAT: Final = "eventjobs-users"
VERSION: Final = 1

# scrypt cost: n=2**14, r=8 is the interactive-login setting of the scrypt
# paper (about 16 MiB and a few tens of milliseconds per hash).
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_SALT_BYTES: Final = 16
_KEY_BYTES: Final = 32
# Upper bounds on what a hash in the file may ask for, so that a damaged or
# hostile file cannot make every login allocate gigabytes.
_MAX_N: Final = 2**20
_MAX_RP: Final = 64

MAX_NAME_LENGTH: Final = 256


@attrs.frozen
class User:
    """One entry of the users file. ``password_hash`` is never a password."""

    name: str
    password_hash: str
    superuser: bool = False


def hash_password(
    password: str, *, salt: bytes | None = None, cost: int = SCRYPT_N
) -> str:
    """A salted scrypt hash of *password*, with its parameters, as text.

    *cost* is scrypt's N (a power of 2); lower it only where speed matters
    more than resistance to guessing (tests).
    """
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    key = _scrypt(password, salt, cost, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(cost), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)]
    )


def verify_password(password: str, password_hash: str) -> bool:
    """Whether *password* matches *password_hash* (constant-time comparison).

    A hash that does not parse never matches (load() refuses such files, so
    this only guards against misuse).
    """
    try:
        n, r, p, salt, key = _parse_hash(password_hash)
    except ValueError:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(key)), key)


def check_name(name: str) -> str:
    """*name* if it can be a user name; ConfigError saying why not otherwise."""
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or ":" in name:
        raise ConfigError(
            f"user name {name!r} is not valid: use 1 to {MAX_NAME_LENGTH} printable "
            "characters without ':'"
        )
    return name


def load(path: str) -> dict[str, User]:
    """The users of the file at *path*, by name.

    Raises:
        ConfigError: the file cannot be read, is world-writable, or is not a
            users file; the one-sentence message says which.
    """
    try:
        with open(path, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            raw = file.read()
    except OSError as error:
        raise ConfigError(
            f"users file {path!r} cannot be read: {error.strerror or error}"
        ) from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"users file {path!r} is not a regular file")
    if mode & stat.S_IWOTH:
        raise ConfigError(
            f"users file {path!r} is world-writable, so anyone could add a superuser; "
            f"run chmod o-w {path!r}"
        )
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"users file {path!r} is not valid JSON ({error})") from None
    return parse(document, path)


def parse(document: Any, path: str = "<users>") -> dict[str, User]:
    """The users of a decoded users file; ConfigError when it is malformed."""

    def bad(why: str) -> ConfigError:
        return ConfigError(f"users file {path!r} is malformed: {why}")

    if not isinstance(document, dict):
        raise bad("the top level must be a JSON object")
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise bad(f'it must say "format": "{FORMAT}", "version": {VERSION}')
    entries = document.get("users")
    if not isinstance(entries, dict):
        raise bad('"users" must be an object of user name to entry')
    users: dict[str, User] = {}
    for name, entry in entries.items():
        try:
            check_name(name)
        except ConfigError:
            raise bad(f"user name {name!r} is not valid") from None
        if not isinstance(entry, dict) or set(entry) != {"password", "superuser"}:
            raise bad(f'user {name!r} must have exactly "password" and "superuser"')
        password_hash, superuser = entry["password"], entry["superuser"]
        if not isinstance(superuser, bool):
            raise bad(f'user {name!r}: "superuser" must be true or false')
        if not isinstance(password_hash, str):
            raise bad(f'user {name!r}: "password" must be a scrypt hash')
        try:
            _parse_hash(password_hash)
        except ValueError as error:
            raise bad(
                f'user {name!r}: "password" is not a usable scrypt hash ({error})'
            ) from None
        users[name] = User(name, password_hash, superuser)
    return users


def dump(users: Mapping[str, User]) -> bytes:
    """The file contents for *users* (sorted by name, stable across saves)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "users": {
            name: {"password": user.password_hash, "superuser": user.superuser}
            for name, user in sorted(users.items())
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def save(path: str, users: Mapping[str, User]) -> None:
    """Replace the file at *path* atomically; it is readable by its owner only.

    Raises:
        ConfigError: the file cannot be written.
    """
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(dump(users))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise ConfigError(
            f"users file {path!r} cannot be written: {error.strerror or error}"
        ) from None


def _scrypt(
    password: str, salt: bytes, n: int, r: int, p: int, dklen: int = _KEY_BYTES
) -> bytes:
    # maxmem: scrypt needs 128*n*r bytes; allow that with headroom.
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=dklen,
        maxmem=256 * n * r + 1024 * 1024,
    )


def _parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$R$P$SALT$KEY")
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, key = (
            base64.b64decode(parts[4], validate=True),
            base64.b64decode(parts[5], validate=True),
        )
    except ValueError:
        raise ValueError("N, R, P must be numbers and SALT, KEY base64") from None
    if (
        n < 2
        or n & (n - 1)
        or n > _MAX_N
        or not 1 <= r <= _MAX_RP
        or not 1 <= p <= _MAX_RP
    ):
        raise ValueError(
            f"N must be a power of 2 up to {_MAX_N}, R and P 1 to {_MAX_RP}"
        )
    if len(salt) < 8 or not 16 <= len(key) <= 64:
        raise ValueError("the salt or key has the wrong length")
    return n, r, p, salt, key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
