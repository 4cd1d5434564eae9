"""Who is asking: the caller of an API request, as the job layer sees it."""

from __future__ import annotations

from typing import Final

import attrs

from .events import Owner


@attrs.frozen
class Caller:
    """An authenticated user, or the anonymous superuser when auth is off.

    ``name`` is what is recorded as a job's owner (``None`` when nobody was
    authenticated). A superuser sees and acts on every job; anyone else only
    on the jobs they own (spec section 5).
    """

    name: Owner
    superuser: bool = False

    def owns(self, owner: Owner) -> bool:
        """Whether this caller may see and act on a job owned by *owner*."""
        return self.superuser or owner == self.name


#: Every request's caller while authentication is off (ArangoDB's default).
ANONYMOUS: Final = Caller(None, superuser=True)

#: The caller of an ``/_open/`` request while authentication is on: nobody
#: yet, so no job is theirs.
NOBODY: Final = Caller(None, superuser=False)
