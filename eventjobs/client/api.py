"""The async job API (/work/shared/spec/job-api.md) as calls, values and
exceptions, for the command-line client.

Each call makes one request (:meth:`JobAPI.wait` makes several) and turns
the answer into a value, or raises:

- :class:`NotAuthorized` on 401/403, whatever the call;
- :class:`JobNotFound` on the job manager's own 404 (no ``x-arango-async-id``:
  a stored result that happens to be a 404 carries one, spec 7);
- :class:`Refused` on any other answer the call does not expect (a 400, a
  503 queue full, a 5xx, a server that is not eventjobs).

:class:`~eventjobs.client.connection.CannotConnect` passes through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Literal

import attrs

from ..headers import PROGRESS_HEADER, STATE_HEADER, WAIT_HEADER, parse_progress
from .connection import Answer, Connection

JOB_API = "/_api/job"
ID_HEADER = "x-arango-async-id"

#: Shortest time between two status requests when the server does not hold
#: them (``--max-wait 0``, or a server without ``x-eventjobs-wait``), so the
#: client never polls in a tight loop.
MIN_POLL_INTERVAL = 0.2


class APIError(Exception):
    """An answer the call could not use; carries it."""

    def __init__(self, message: str, answer: Answer) -> None:
        super().__init__(message)
        self.answer = answer


class NotAuthorized(APIError):
    """401 or 403: credentials missing, wrong, or not enough."""


class JobNotFound(APIError):
    """The job does not exist, was fetched or deleted, or is not the caller's."""


class Refused(APIError):
    """An answer the call does not expect; the message quotes the server."""


@attrs.frozen
class Pending:
    """A job that has not finished: its latest progress, if it reported any,
    and whether a stop is under way (``cancelling``)."""

    progress: tuple[float, str] | None = None
    cancelling: bool = False

    @classmethod
    def from_answer(cls, answer: Answer) -> Pending:
        raw = answer.header(PROGRESS_HEADER)
        return cls(
            progress=parse_progress(raw) if raw is not None else None,
            cancelling=answer.header(STATE_HEADER) == "cancelling",
        )

    @property
    def state(self) -> str:
        return "cancelling" if self.cancelling else "pending"


#: The status of a finished job (its result waits to be fetched).
DONE: Literal["done"] = "done"


def error_message(answer: Answer) -> str:
    """What the server said: its ``errorMessage``, else the start of the body."""
    try:
        decoded = json.loads(answer.body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("errorMessage"), str):
        return str(decoded["errorMessage"])
    text = answer.body[:200].decode("utf-8", "replace").strip()
    return text or "no body"


@attrs.define
class JobAPI:
    """The job API of the server behind *connection*."""

    connection: Connection
    #: Called with (method, target) before each request and with each
    #: answer (``--verbose``).
    trace: Callable[[str, str, Answer | None], None] | None = None

    def _call(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Iterable[tuple[str, str]] = (),
        extra_time: float = 0.0,
    ) -> Answer:
        if self.trace:
            self.trace(method, target, None)
        answer = self.connection.request(
            method, target, body=body, headers=headers, extra_time=extra_time
        )
        if self.trace:
            self.trace(method, target, answer)
        if answer.status in (401, 403):
            raise NotAuthorized(error_message(answer), answer)
        return answer

    def submit(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Iterable[tuple[str, str]],
    ) -> int:
        """Send the request as a stored job (``x-arango-async: store``); its id.

        Raises:
            Refused: not accepted (404 unknown path, 405, 413, 503 queue full...).
        """
        answer = self._call(
            method, target, body=body, headers=[*headers, ("x-arango-async", "store")]
        )
        job_id = answer.header(ID_HEADER)
        if answer.status != 202 or job_id is None or not job_id.isdigit():
            raise Refused(
                f"{method} {target} was not accepted as a job: {answer.status_line}, "
                f"{error_message(answer)}",
                answer,
            )
        return int(job_id)

    def status(self, job_id: int, *, wait: float = 0.0) -> Pending | Literal["done"]:
        """``GET /_api/job/{id}``, held up to *wait* seconds while pending."""
        answer = self._call(
            "GET", f"{JOB_API}/{job_id}", headers=_wait_header(wait), extra_time=wait
        )
        if answer.status == 200:
            return DONE
        if answer.status == 204:
            return Pending.from_answer(answer)
        raise self._unexpected(job_id, answer)

    def fetch(self, job_id: int) -> Answer | Pending:
        """``PUT /_api/job/{id}``: the stored result (which the server then
        forgets), or the job's :class:`Pending` state."""
        answer = self._call("PUT", f"{JOB_API}/{job_id}")
        if answer.header(ID_HEADER) is not None:
            return answer
        if answer.status == 204:
            return Pending.from_answer(answer)
        raise self._unexpected(job_id, answer)

    def wait(
        self,
        job_id: int,
        *,
        poll: float,
        deadline: float | None,
        on_pending: Callable[[Pending], None],
    ) -> bool:
        """Wait until the job is done: True then, False if *deadline*
        (``time.monotonic()``) came first.

        Each status request is held by the server up to *poll* seconds
        (``x-eventjobs-wait``), so the answer comes the moment the job ends
        and, in between, one request per *poll* brings its progress to
        *on_pending*. Status requests never remove the result, so an
        interrupted wait (``KeyboardInterrupt`` passes through) loses
        nothing and leaves the job alone: closing a held request cancels
        only the server's wait, never the job.
        """
        while True:
            wait = poll
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            started = time.monotonic()
            state = self.status(job_id, wait=wait)
            if state == DONE:
                return True
            on_pending(state)
            if deadline is not None and time.monotonic() >= deadline:
                return False
            # A server that did not hold the request (see MIN_POLL_INTERVAL).
            rest = MIN_POLL_INTERVAL - (time.monotonic() - started)
            if deadline is not None:
                rest = min(rest, deadline - time.monotonic())
            if rest > 0:
                time.sleep(rest)

    def cancel(self, job_id: int) -> None:
        answer = self._call("PUT", f"{JOB_API}/{job_id}/cancel")
        if answer.status != 200:
            raise self._unexpected(job_id, answer)

    def list(self, which: Literal["pending", "done"], count: int | None) -> list[int]:
        target = f"{JOB_API}/{which}" + (f"?count={count}" if count is not None else "")
        answer = self._call("GET", target)
        try:
            ids = json.loads(answer.body) if answer.status == 200 else None
        except ValueError:
            ids = None
        if not isinstance(ids, list) or not all(
            isinstance(item, str) and item.isdigit() for item in ids
        ):
            raise Refused(
                f"GET {target} did not answer a list of job ids: {answer.status_line}, "
                f"{error_message(answer)}",
                answer,
            )
        return [int(item) for item in ids]

    def delete(
        self, job: int | Literal["all", "expired"], *, before: float | None = None
    ) -> None:
        """Delete one job, ``all`` the caller's jobs, or the ``expired`` ones:
        those whose stamp (creation while pending, completion once done) is
        older than *before* (unix seconds)."""
        if job == "expired":
            if before is None:
                raise ValueError("deleting expired jobs needs a time")
            target = f"{JOB_API}/expired?stamp={before!r}"
        else:
            target = f"{JOB_API}/{job}"
        answer = self._call("DELETE", target)
        if answer.status != 200:
            raise self._unexpected(job if isinstance(job, int) else None, answer)

    def _unexpected(self, job_id: int | None, answer: Answer) -> APIError:
        if answer.status == 404 and job_id is not None:
            return JobNotFound(
                f"no job {job_id}: unknown, already fetched, deleted, or not yours",
                answer,
            )
        return Refused(
            f"the server answered {answer.status_line}: {error_message(answer)}", answer
        )


def _wait_header(wait: float) -> list[tuple[str, str]]:
    # Plain decimal, as the server requires (no exponent).
    return [(WAIT_HEADER, f"{wait:.3f}")] if wait > 0 else []
