"""Server settings: one frozen value, validated when it is made.

The same settings come from the command line (``eventjobs serve``) and from
the environment (``EVENTJOBS_*``, for ``hypercorn 'eventjobs.asgi:create_app()'``).
Every invalid value raises :class:`ConfigError` naming the setting, the bad
value and what would be valid.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from .errors import ConfigError

#: An attrs validator: (instance, attribute, value), raising ConfigError.
Validator = Callable[[Any, Any, Any], None]

#: ``--journal`` value selecting the in-memory journal (nothing survives).
MEMORY_JOURNAL: Final = ":memory:"

DEFAULT_BIND: Final = "127.0.0.1:8529"


def _positive_int(name: str) -> Validator:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if type(value) is not int or value < 1:
            raise ConfigError(
                f"{name} must be a whole number of at least 1, not {value!r}",
                setting=name,
            )

    return check


def _seconds(name: str) -> Validator:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(
                f"{name} must be a number of seconds, 0 or more, not {value!r}",
                setting=name,
            )

    return check


def _positive_seconds(name: str) -> Validator:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ConfigError(
                f"{name} must be a number of seconds above 0, not {value!r}",
                setting=name,
            )

    return check


def _lease_seconds(_instance: object, _attribute: object, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not MIN_NODE_LEASE <= value <= MAX_NODE_LEASE
    ):
        raise ConfigError(
            f"node_lease must be a number of seconds from {MIN_NODE_LEASE:g} to "
            f"{MAX_NODE_LEASE:g}, not {value!r}",
            setting="node_lease",
        )


#: Bounds of a node's lease: renewed every twentieth of it, so a shorter one
#: would keep the database busy, and a longer one would leave a dead node's
#: jobs waiting for more than an hour.
MIN_NODE_LEASE = 0.5
MAX_NODE_LEASE = 3600.0


def _optional(check: Validator) -> Validator:
    def optional_check(instance: object, attribute: object, value: object) -> None:
        if value is not None:
            check(instance, attribute, value)

    return optional_check


def _optional_positive_int(name: str) -> Validator:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if value is not None and (type(value) is not int or value < 1):
            raise ConfigError(
                f"{name} must be a whole number of at least 1 (or unset), not {value!r}",
                setting=name,
            )

    return check


def _header_names(
    _instance: object, _attribute: object, value: tuple[str, ...]
) -> None:
    for name in value:
        if not name or not all(
            33 <= ord(c) < 127 and c not in '()<>@,;:\\"/[]?={}' for c in name
        ):
            raise ConfigError(
                f"redact_headers: {name!r} is not an HTTP header name",
                setting="redact_headers",
            )


def _lower_names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    return tuple(str(part).strip().lower() for part in value)  # type: ignore[attr-defined]


def _bind(_instance: object, _attribute: object, value: str) -> None:
    parse_bind(value)


def parse_bind(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` for IPv6) into host and port."""
    host, sep, port = value.rpartition(":")
    if (
        not sep
        or not host
        or not (
            port.isascii()
            and port.isdigit()
            and int(port[-6:]) <= 65535
            and len(port) <= 5
        )
    ):
        shown = (
            repr(value)
            if len(value) <= 60
            else f"{value[:40]!r}... ({len(value)} characters)"
        )
        raise ConfigError(
            f"bind must be HOST:PORT, for example {DEFAULT_BIND}, not {shown}",
            setting="bind",
        )
    return host.strip("[]"), int(port)


def _app_reference(_instance: object, _attribute: object, value: str | None) -> None:
    if value is None:
        return
    module, sep, attr = value.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(
            f"app must be MODULE:ATTRIBUTE, for example myservice.web:app, not {value!r}",
            setting="app",
        )


def parse_upstream(value: str) -> tuple[str, str]:
    """``URL`` or ``/PREFIX=URL`` (``--upstream``) as (prefix, URL); a bare
    URL takes every path (prefix ``/``). The URL is ``http://`` or
    ``https://``, a host, an optional port and an optional base path.

    Raises:
        ConfigError: the value is neither form; the message shows both.
    """
    prefix, sep, url = (
        value.partition("=") if value.startswith("/") else ("", "", value)
    )
    if not sep:
        prefix = "/"
    scheme, _sep, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    if (
        scheme not in ("http", "https")
        or not host
        or any(c in url for c in " ?#")
        or not prefix.startswith("/")
    ):
        raise ConfigError(
            f"upstream must be URL or /PREFIX=URL, for example http://127.0.0.1:9000 "
            f"or /reports=http://127.0.0.1:9000 (http or https, no query), not {value!r}"
        )
    return (prefix.rstrip("/") or "/"), url.rstrip("/")


def _upstreams(_instance: object, _attribute: object, value: tuple[str, ...]) -> None:
    prefixes: set[str] = set()
    for entry in value:
        prefix, _url = parse_upstream(entry)
        if prefix in prefixes:
            raise ConfigError(f"upstream: the prefix {prefix} is given twice")
        prefixes.add(prefix)


def _entries(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: comma-separated
        value = value.split(",")
    return tuple(str(part).strip() for part in value if str(part).strip())  # type: ignore[attr-defined]


def _flag(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    word = str(value).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(
        f"a flag must be 1, true, yes, on or 0, false, no, off, not {value!r}"
    )


#: ``--app-isolation``: where a mounted WSGI app's requests run.
APP_ISOLATIONS: Final = ("thread", "process")


def _app_isolation(_instance: object, _attribute: object, value: str) -> None:
    if value not in APP_ISOLATIONS:
        raise ConfigError(f"app_isolation must be thread or process, not {value!r}")


@attrs.frozen(kw_only=True)
class Settings:
    """Everything an eventjobs server is configured with."""

    #: The journal directory, a ``postgresql://`` URL (docs/deployment.md),
    #: or ``":memory:"`` for the in-memory journal.
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
    shutdown_timeout: float = attrs.field(
        default=10.0, validator=_seconds("shutdown_timeout")
    )
    #: Stored results older than this (seconds since completion) are removed;
    #: None keeps them until fetched or deleted.
    result_ttl: float | None = attrs.field(
        default=None,
        validator=_optional(_seconds("result_ttl")),
        metadata={"parse": float},
    )
    #: Beyond this many stored results, the oldest are removed; None: no limit.
    max_results: int | None = attrs.field(
        default=None,
        validator=_optional(_positive_int("max_results")),
        metadata={"parse": int},
    )
    #: A response larger than this is not stored; the job's result is a 500
    #: saying so (see docs/durability.md). None: no limit.
    max_result_bytes: int | None = attrs.field(
        default=None,
        validator=_optional(_positive_int("max_result_bytes")),
        metadata={"parse": int},
    )
    #: A new journal segment file is started past this size. A start checks
    #: the segment holding the newest snapshot's position, so this bounds
    #: that part of start-up time.
    segment_bytes: int = attrs.field(
        default=8 * 1024 * 1024, validator=_positive_int("segment_bytes")
    )
    #: A snapshot of the views is written once at least this many records,
    #: and at least as many as there are live jobs, follow the last one (and
    #: at a clean shutdown). A start replays only what follows the newest
    #: snapshot; writing one costs in proportion to the live jobs, so tying
    #: the interval to their number keeps that cost per record constant.
    snapshot_every: int = attrs.field(
        default=1000, validator=_positive_int("snapshot_every")
    )
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
    progress_interval: float = attrs.field(
        default=1.0, validator=_seconds("progress_interval")
    )
    #: ``MODULE:ATTR`` of an ASGI or WSGI app to serve behind the job layer.
    app: str | None = attrs.field(default=None, validator=_app_reference)
    #: A WSGI app's requests run in a bounded pool of threads of the server
    #: (``thread``: a cancel waits for the request to return) or of worker
    #: processes that each import the app (``process``: a cancel kills it).
    app_isolation: str = attrs.field(default="thread", validator=_app_isolation)
    #: Threads for a WSGI app under ``thread`` isolation.
    app_threads: int = attrs.field(default=16, validator=_positive_int("app_threads"))
    #: Worker processes for a WSGI app under ``process`` isolation.
    app_processes: int = attrs.field(
        factory=lambda: os.cpu_count() or 1, validator=_positive_int("app_processes")
    )
    #: ``URL`` or ``/PREFIX=URL`` entries (``--upstream``): the paths under a
    #: prefix (the longest that matches) go to that HTTP service.
    upstream: tuple[str, ...] = attrs.field(
        default=(), converter=_entries, validator=_upstreams
    )
    #: An upstream that has not answered (or sent more) for this long: 504.
    upstream_timeout: float = attrs.field(
        default=60.0, validator=_seconds("upstream_timeout")
    )
    #: Forward the client's ``Authorization`` header to the upstream.
    upstream_pass_auth: bool = attrs.field(
        default=False, converter=_flag, metadata={"parse": _flag}
    )
    bind: str = attrs.field(default=DEFAULT_BIND, validator=_bind)
    #: The users file; set, it turns authentication on (off: everyone is the
    #: anonymous superuser).
    users: str | None = None
    #: File holding the JWT signing secret; unset, a random one per start
    #: (tokens then stop working when the server restarts).
    jwt_secret_file: str | None = None
    #: How long a token from ``POST /_open/auth`` is valid.
    jwt_lifetime: float = attrs.field(
        default=3600.0, validator=_positive_seconds("jwt_lifetime")
    )
    #: Further request headers never written to the journal (lower-cased);
    #: ``authorization`` and ``cookie`` are always left out.
    redact_headers: tuple[str, ...] = attrs.field(
        default=(), converter=_lower_names, validator=_header_names
    )
    #: Stored results (pending or done, not yet fetched) one user may hold;
    #: beyond it submissions get 503. None: no limit.
    max_results_per_user: int | None = attrs.field(
        default=None,
        validator=_optional_positive_int("max_results_per_user"),
        metadata={"parse": int},
    )
    #: With a PostgreSQL journal, where every server is a node: how long a
    #: node's lease lasts (renewed every twentieth of it). A node that has not
    #: renewed it for this long is taken for dead: another node takes over
    #: its jobs, and it may record nothing more (docs/deployment.md).
    node_lease: float = attrs.field(default=10.0, validator=_lease_seconds)
    #: Request headers accepted, by count and by total size (431 beyond).
    max_header_count: int = attrs.field(
        default=128, validator=_positive_int("max_header_count")
    )
    max_header_bytes: int = attrs.field(
        default=64 * 1024, validator=_positive_int("max_header_bytes")
    )
    #: The audit trail (docs/audit.md): the signer key file (``PREFIX.key``
    #: of ``eventjobs journal keygen``) the server signs checkpoints with,
    #: at most every ``checkpoint_interval`` seconds when the journal grew,
    #: and at shutdown. None: no checkpoints are signed.
    checkpoint_key: str | None = None
    checkpoint_interval: float = attrs.field(
        default=10.0, validator=_seconds("checkpoint_interval")
    )
    #: How long an ``Idempotency-Key`` holds: the same owner sending it again
    #: within this many seconds of the first submission gets that job back.
    idempotency_window: float = attrs.field(
        default=86400.0, validator=_seconds("idempotency_window")
    )
    #: The furthest ahead ``x-eventjobs-delay`` / ``-not-before`` may put a
    #: job's start (400 beyond).
    max_delay: float = attrs.field(
        default=30 * 86400.0, validator=_seconds("max_delay")
    )
    #: A job waiting for a run slot gains one priority level per this many
    #: seconds of waiting (so low priorities never starve); 0 turns it off.
    priority_aging: float = attrs.field(
        default=60.0, validator=_seconds("priority_aging")
    )
    #: Jobs of one owner with the same ``x-eventjobs-concurrency-key`` that
    #: may run at once (on one server; the others wait, pending).
    key_concurrency: int = attrs.field(
        default=1, validator=_positive_int("key_concurrency")
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``EVENTJOBS_JOURNAL``, ``EVENTJOBS_MAX_QUEUED``, ...

        Every field has a variable: ``EVENTJOBS_`` plus its name upper-cased.
        Unset variables keep the defaults; for limits that can be off (such
        as ``EVENTJOBS_RESULT_TTL``), an empty value or ``off`` turns them off.
        ``EVENTJOBS_REDACT_HEADERS`` is a comma-separated list.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in attrs.fields(cls):
            variable = f"EVENTJOBS_{field.name.upper()}"
            if variable not in environ:
                continue
            raw = environ[variable]
            values[field.name] = _convert(variable, raw, field)
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ConfigError as error:
            # Name the setting as the user wrote it: the variable.
            raise error.named(f"EVENTJOBS_{(error.setting or '').upper()}") from None


def _convert(variable: str, raw: str, field: attrs.Attribute[object]) -> object:
    parse: Callable[[str], object] | None = field.metadata.get("parse")
    if parse is None:
        default: Any = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if isinstance(default, (str, tuple)) or default is None:
            return raw  # a converter, if any, takes it from there
        parse = type(default)
    elif raw.strip().lower() in ("", "off", "none"):
        return None
    try:
        return parse(raw)
    except ConfigError:
        raise  # the parser said what is wrong itself
    except ValueError:
        kind = "a whole number" if parse is int else "a number"
        raise ConfigError(f"{variable} must be {kind}, not {raw!r}") from None
