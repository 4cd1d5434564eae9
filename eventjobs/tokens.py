"""JSON Web Tokens for ``POST /_open/auth`` and ``Authorization: bearer``.

HS256 only, signed with the server's secret, with the claims ArangoDB's
clients check when they receive a token (python-arango decodes it, without
the signature, to learn when to refresh): ``iss`` ``"arangodb"``, ``iat``,
``exp``, and the user as ``preferred_username``.

PyJWT does the encoding and the signature check (a small, widely reviewed
library that python-arango already depends on, so it costs no new install);
the expiry is checked here against the injected clock instead of PyJWT's
``time.time()``, so that tests control it.
"""

from __future__ import annotations

from typing import Final

import jwt

ISSUER: Final = "arangodb"
ALGORITHM: Final = "HS256"
#: Shortest secret accepted from ``--jwt-secret-file`` (RFC 7518: at least
#: the hash size for HS256).
MIN_SECRET_BYTES: Final = 32


class TokenError(Exception):
    """A token is not valid; the message says why (for logs, never for clients)."""


def issue(secret: bytes, username: str, *, now: float, lifetime: float) -> str:
    """A token for *username*, valid from *now* for *lifetime* seconds."""
    issued = int(now)
    claims = {
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + max(1, int(lifetime)),
        "preferred_username": username,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: bytes, token: str, *, now: float) -> str:
    """The user name in *token* when it is signed with *secret* and not expired.

    Raises:
        TokenError: bad signature or format, another algorithm, expired, or a
            claim missing or of the wrong type.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "require": ["exp", "iat", "iss"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as error:
        raise TokenError(f"{type(error).__name__}: {error}") from None
    expiry, username = claims.get("exp"), claims.get("preferred_username")
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)):
        raise TokenError("exp is not a number")
    if now >= expiry:
        raise TokenError("expired")
    if not isinstance(username, str):
        raise TokenError("preferred_username is missing")
    return username
