"""Server settings: one frozen value, validated when it is made.

The same settings come from the command line (``eventjobs serve``) and from
the environment (``EVENTJOBS_*``, for ``hypercorn 'eventjobs.asgi:create_app()'``).
Every invalid value raises :class:`ConfigError` naming the setting, the bad
value and what would be valid.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Final

import attrs

from .errors import ConfigError

#: ``--journal`` value selecting the in-memory journal (nothing survives).
MEMORY_JOURNAL: Final = ":memory:"

DEFAULT_BIND: Final = "127.0.0.1:8529"


def _positive_int(name: str) -> object:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if type(value) is not int or value < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}")

    return check


def _seconds(name: str) -> object:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(f"{name} must be a number of seconds, 0 or more, not {value!r}")

    return check


def _bind(_instance: object, _attribute: object, value: str) -> None:
    parse_bind(value)


def parse_bind(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into host and port."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"bind must be HOST:PORT, for example {DEFAULT_BIND}, not {value!r}")
    return host.strip("[]"), int(port)


def _app_reference(_instance: object, _attribute: object, value: str | None) -> None:
    if value is None:
        return
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(
            f"app must be MODULE:ATTRIBUTE, for example myservice.web:app, not {value!r}"
        )


@attrs.frozen(kw_only=True)
class Settings:
    """Everything an eventjobs server is configured with."""

    #: The journal directory, or ``":memory:"`` for the in-memory journal.
    journal: str = "journal"
    #: Queued-but-not-started jobs allowed; beyond it submissions get 503.
    max_queued: int = attrs.field(default=4096, validator=_positive_int("max_queued"))
    #: Jobs running at once; the rest wait, first in, first out.
    max_running: int = attrs.field(default=64, validator=_positive_int("max_running"))
    #: Largest request body accepted for an async job (413 beyond).
    max_body_bytes: int = attrs.field(
        default=16 * 1024 * 1024, validator=_positive_int("max_body_bytes")
    )
    #: Longest ``duration`` that ``/_admin/sleep`` accepts.
    max_sleep: float = attrs.field(default=3600.0, validator=_seconds("max_sleep"))
    #: At shutdown, how long running jobs may go on before they are interrupted.
    shutdown_timeout: float = attrs.field(default=10.0, validator=_seconds("shutdown_timeout"))
    #: Processes in the pool behind ``eventjobs.run_in_process`` (default: one per core).
    worker_processes: int = attrs.field(
        factory=lambda: os.cpu_count() or 1, validator=_positive_int("worker_processes")
    )
    #: Longest a job may run before it is stopped as timed out; 0 for no limit.
    #: A request's ``x-eventjobs-timeout`` header sets its own.
    job_timeout: float = attrs.field(default=0.0, validator=_seconds("job_timeout"))
    #: Longest a job API request may wait with ``x-eventjobs-wait``.
    max_wait: float = attrs.field(default=60.0, validator=_seconds("max_wait"))
    #: Progress reports of one job are recorded at most once per this many seconds
    #: (the last report is always recorded).
    progress_interval: float = attrs.field(default=1.0, validator=_seconds("progress_interval"))
    #: ``MODULE:ATTR`` of an ASGI app to serve behind the job layer.
    app: str | None = attrs.field(default=None, validator=_app_reference)
    bind: str = attrs.field(default=DEFAULT_BIND, validator=_bind)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``EVENTJOBS_JOURNAL``, ``EVENTJOBS_MAX_QUEUED``, ...

        Every field has a variable: ``EVENTJOBS_`` plus its name upper-cased.
        Unset variables keep the defaults.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in attrs.fields(cls):
            variable = f"EVENTJOBS_{field.name.upper()}"
            if variable not in environ:
                continue
            raw = environ[variable]
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            values[field.name] = _convert(variable, raw, default)
        return cls(**values)  # type: ignore[arg-type]


def _convert(variable: str, raw: str, default: object) -> object:
    if isinstance(default, bool) or default is None or isinstance(default, str):
        return raw
    try:
        return int(raw) if isinstance(default, int) else float(raw)
    except ValueError:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ConfigError(f"{variable} must be {kind}, not {raw!r}") from None
