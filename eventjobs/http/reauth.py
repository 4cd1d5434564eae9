"""Long-lived responses re-check their credentials.

A stream (``GET /_eventjobs/events``, ``GET /_eventjobs/journal?follow=true``)
is authorized when it starts and may then run for hours; meanwhile its user
may be removed from the users file, lose superuser rights, or see their
token expire. :func:`credential_check`, called in the handler, keeps the
request's credentials so that the stream can ask, as it goes, whether they
still prove the same caller, and end when they do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio
from quart import current_app, request

from ..authentication import Authenticator
from ..identity import Caller
from .context import current_caller
from .login import AUTHENTICATOR_KEY

#: How often a stream's credentials are checked again (a users-file read or a
#: password check at most this often per stream).
RECHECK_SECONDS = 15.0


class CredentialCheck:
    """Whether a request's credentials still prove the caller it started as."""

    def __init__(
        self,
        authenticator: Authenticator | None,
        authorization: Sequence[bytes],
        caller: Caller,
    ) -> None:
        self._authenticator = authenticator
        self._authorization = list(authorization)
        self._caller = caller
        self._checked = trio.current_time()
        self._valid = True

    async def still_valid(self) -> bool:
        """True while the credentials prove the same caller, with the same
        rights (always, with authentication off). Asks the authenticator at
        most once per :data:`RECHECK_SECONDS`; once False, stays False.

        Cancellation: nothing is left behind; the next call asks again.
        """
        if self._authenticator is None or not self._valid:
            return self._valid
        if trio.current_time() - self._checked < RECHECK_SECONDS:
            return True
        caller = await self._authenticator.authenticate(self._authorization)
        self._checked = trio.current_time()
        self._valid = caller == self._caller
        return self._valid


def credential_check() -> CredentialCheck:
    """A :class:`CredentialCheck` for the request being handled."""
    authorization = [
        value.encode("latin-1") for value in request.headers.getlist("authorization")
    ]
    return CredentialCheck(
        current_app.extensions.get(AUTHENTICATOR_KEY), authorization, current_caller()
    )
