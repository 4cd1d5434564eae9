"""Exceptions of eventjobs, each subclassing the builtin it refines."""

from __future__ import annotations


class EventJobsError(Exception):
    """Base class of every error eventjobs raises on purpose."""


class ConfigError(EventJobsError, ValueError):
    """The configuration is invalid; the message says which setting and why.

    Raised by a setting's check, it knows the setting (``setting``, the
    field's name, which starts the message), so that the command line and
    the environment can name it as the user wrote it (:meth:`named`).
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting

    def named(self, name: str) -> ConfigError:
        """The same error, the setting called *name* (``--max-running``,
        ``EVENTJOBS_MAX_RUNNING``) instead of its field name."""
        message = str(self)
        if self.setting is None or not message.startswith(self.setting):
            return self
        return type(self)(name + message[len(self.setting) :], setting=self.setting)


class JournalInUse(ConfigError):
    """Another server process holds the journal (one per journal, for now)."""


class CodecError(EventJobsError, ValueError):
    """A journal record does not decode into an event; the message says why."""


class JournalCorrupt(EventJobsError):
    """The journal holds damage that cannot be repaired safely.

    The message names the file, line and sequence number and what is wrong.
    """


class JournalConflict(EventJobsError):
    """An append did not continue the journal at its head (a bug, or a second
    writer on the same journal)."""


class JournalUnavailable(EventJobsError):
    """An append did not reach durable storage; nothing further is accepted."""


class IllegalTransition(EventJobsError):
    """An event does not follow from the job's current state."""


class QueueFull(EventJobsError):
    """The number of queued jobs has reached ``max_queued``."""


class QuotaExceeded(EventJobsError):
    """The user already holds ``max_results_per_user`` stored results."""


class IdempotencyConflict(EventJobsError):
    """An ``Idempotency-Key`` the owner already used, with another request."""


class ShuttingDown(EventJobsError):
    """The server is stopping and accepts no new jobs."""


class NotRunning(EventJobsError):
    """The job runtime has not been started (the app's lifespan has not run)."""


class NotPicklable(EventJobsError, TypeError):
    """A function or its arguments cannot be sent to a worker process."""


class WorkerProcessError(EventJobsError, RuntimeError):
    """A worker process died or could not start while it ran a call."""


class NodeFenced(EventJobsError):
    """This server (a node of a PostgreSQL journal shared by several) lost
    its lease and another node took over its jobs: it records nothing more."""
