"""Deciding who a request comes from, when authentication is on.

An :class:`Authenticator` checks an ``Authorization`` header (HTTP Basic, or
a bearer JWT from ``POST /_open/auth``) against the users file and answers
with the :class:`Caller`, or None when the credentials do not hold. It never
raises for anything a client sends. Password checks run in worker threads,
so the event loop never waits for scrypt; cancelling a check abandons the
thread's result (the thread itself finishes its hash).

The users file is read again whenever it changes on disk (its size, time or
inode), so ``eventjobs users add/remove/passwd`` take effect without a
restart. A file that became unreadable or malformed while serving locks
everyone out (fail closed) and is logged, until it is fixed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from typing import Final

import trio

from . import tokens, users
from .errors import ConfigError
from .identity import Caller
from .users import User

log = logging.getLogger("eventjobs.auth")

#: Successful password checks remembered, so that clients sending Basic
#: credentials with every request do not pay a scrypt each time.
_CACHE_SIZE: Final = 4096

#: scrypt runs in worker threads (it takes tens of milliseconds and would
#: stall every request and job on the event loop), at most this many at once:
#: each holds 16 MiB, and a flood of wrong passwords must not exhaust memory.
MAX_CONCURRENT_HASHES: Final = 4


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the user is unknown, so that a wrong name costs as
    # long as a wrong password (no user enumeration by timing).
    return users.hash_password("", salt=b"eventjobs-dummy!")


def read_secret(path: str) -> bytes:
    """The JWT secret in the file at *path* (surrounding whitespace removed).

    Raises:
        ConfigError: unreadable, or shorter than ``tokens.MIN_SECRET_BYTES``.
    """
    try:
        with open(path, "rb") as file:
            secret = file.read().strip()
    except OSError as error:
        raise ConfigError(
            f"JWT secret file {path!r} cannot be read: {error.strerror or error}"
        ) from None
    if len(secret) < tokens.MIN_SECRET_BYTES:
        raise ConfigError(
            f"JWT secret file {path!r} holds {len(secret)} bytes; use at least "
            f"{tokens.MIN_SECRET_BYTES} (for example: head -c 48 /dev/urandom | base64)"
        )
    return secret


class Authenticator:
    """Checks credentials against a users file and issues and checks JWTs.

    Args:
        users_path: the users file; read now and whenever it changes.
        secret: the HS256 key; None makes a random one (tokens then do not
            survive a restart).
        token_lifetime: seconds a token issued by :meth:`login` is valid.
        clock: unix seconds, for token times.

    Raises:
        ConfigError: the users file is unreadable, world-writable or malformed.
    """

    def __init__(
        self,
        users_path: str,
        *,
        secret: bytes | None,
        token_lifetime: float,
        clock: Callable[[], float],
    ) -> None:
        self._path = users_path
        self._secret = secrets.token_bytes(32) if secret is None else secret
        self._lifetime = token_lifetime
        self._clock = clock
        self._users = users.load(users_path)
        self._stamp = self._file_stamp()
        self._cache_key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._hashing = trio.CapacityLimiter(MAX_CONCURRENT_HASHES)

    # -- the users file -----------------------------------------------------------

    def _file_stamp(self) -> tuple[int, ...] | None:
        try:
            status = os.stat(self._path)
        except OSError:
            return None
        return (status.st_mtime_ns, status.st_size, status.st_ino, status.st_mode)

    def _current_users(self) -> dict[str, User]:
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._users = users.load(self._path)
                log.info(
                    "users file %r reloaded: %d users", self._path, len(self._users)
                )
            except ConfigError as error:
                log.error("%s; nobody can authenticate until it is fixed", error)
                self._users = {}
        return self._users

    def caller_of(self, owner: str) -> Caller:
        """The caller a job of *owner* runs as: their current superuser flag."""
        user = self._current_users().get(owner)
        return Caller(owner, superuser=user is not None and user.superuser)

    # -- credentials --------------------------------------------------------------

    async def check_password(self, username: str, password: str) -> Caller | None:
        """The caller for a correct user name and password, else None."""
        user = self._current_users().get(username)
        password_hash = user.password_hash if user is not None else _dummy_hash()
        key = hmac.new(
            self._cache_key,
            b"\0".join(
                part.encode("utf-8", "surrogatepass")
                for part in (username, password, password_hash)
            ),
            hashlib.sha256,
        ).digest()
        if key not in self._verified:
            matches = await trio.to_thread.run_sync(
                users.verify_password,
                password,
                password_hash,
                abandon_on_cancel=True,
                limiter=self._hashing,
            )
            if not matches or user is None:
                return None
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified.add(key)
        assert user is not None  # only known users' checks are remembered
        return Caller(user.name, superuser=user.superuser)

    async def login(self, username: str, password: str) -> str | None:
        """A JWT for *username* when the password is right, else None."""
        if await self.check_password(username, password) is None:
            return None
        return tokens.issue(
            self._secret, username, now=self._clock(), lifetime=self._lifetime
        )

    async def authenticate(self, authorization: Sequence[bytes]) -> Caller | None:
        """The caller that the ``Authorization`` header values prove, or None.

        Exactly one value is accepted: ``Basic <base64 user:password>`` or
        ``Bearer <token>``, the scheme in any case. A token must be signed
        with this server's secret, unexpired, and name a user still in the
        users file.
        """
        if len(authorization) != 1:
            return None
        scheme, _space, credentials = bytes(authorization[0]).strip().partition(b" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == b"basic":
            return await self._basic(credentials)
        if scheme == b"bearer":
            return self._bearer(credentials)
        return None

    async def _basic(self, credentials: bytes) -> Caller | None:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        username, colon, password = decoded.partition(":")
        if not colon:
            return None
        return await self.check_password(username, password)

    def _bearer(self, credentials: bytes) -> Caller | None:
        try:
            username = tokens.verify(
                self._secret, credentials.decode("ascii"), now=self._clock()
            )
        except (tokens.TokenError, UnicodeDecodeError) as error:
            log.info("bearer token refused: %s", error)
            return None
        user = self._current_users().get(username)
        if user is None:
            return None
        return Caller(user.name, superuser=user.superuser)
