"""HS256 tokens: what verify() accepts and refuses."""

from __future__ import annotations

import jwt
import pytest

from eventjobs import tokens

SECRET = b"k" * 32
NOW = 1_700_000_000.0


def test_an_issued_token_verifies_to_its_user():
    """verify(issue(user)) is user."""
    token = tokens.issue(SECRET, "alice", now=NOW, lifetime=60)
    assert tokens.verify(SECRET, token, now=NOW + 59) == "alice"


def test_a_token_is_refused_at_its_expiry():
    """From exp on, the token is refused."""
    token = tokens.issue(SECRET, "alice", now=NOW, lifetime=60)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify(SECRET, token, now=NOW + 60)


def test_a_token_signed_with_another_secret_is_refused():
    """The signature is checked."""
    token = tokens.issue(b"o" * 32, "alice", now=NOW, lifetime=60)
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, token, now=NOW)


def test_an_unsigned_token_is_refused():
    """alg "none" is never accepted."""
    token = jwt.encode(
        {"iss": "arangodb", "iat": NOW, "exp": NOW + 60, "preferred_username": "alice"},
        None,
        algorithm="none",
    )
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, token, now=NOW)


def test_a_token_without_a_user_is_refused():
    """A correctly signed token must still name a user."""
    token = jwt.encode(
        {"iss": "arangodb", "iat": int(NOW), "exp": int(NOW) + 60},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(tokens.TokenError, match="preferred_username"):
        tokens.verify(SECRET, token, now=NOW)


@pytest.mark.parametrize("garbage", ["", "x", "a.b.c", "é.é.é"])
def test_garbage_is_refused(garbage):
    """Anything that is not a JWT raises TokenError, nothing else."""
    with pytest.raises(tokens.TokenError):
        tokens.verify(SECRET, garbage, now=NOW)
