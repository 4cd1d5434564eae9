"""Pure path rules of the ArangoDB HTTP API: database prefix, job API, ids."""

from __future__ import annotations

import re
from typing import Final

DEFAULT_DATABASE: Final = "_system"

_JOB_API_ROOTS: Final = ("/_api/job", "/_admin/job")
# The audit endpoints read the journal: queueing them as jobs would record
# reads of the journal in the journal, so they are answered synchronously too.
# The dashboard's endpoints are reads for a browser, and its change feed never
# ends: queued as a job it would run forever.
_ALWAYS_SYNCHRONOUS_ROOTS: Final = (
    *_JOB_API_ROOTS,
    "/_eventjobs/journal",
    "/_eventjobs/jobs",
    "/_eventjobs/checkpoint",
    "/_eventjobs/consistency",
    "/_eventjobs/events",
    "/_eventjobs/ui",
    # Recurring schedules: commands on the server itself, like the job API.
    "/_eventjobs/schedules",
)
#: Served without credentials: login, and the dashboard's own files (static
#: HTML, CSS and JavaScript holding no data; the page then logs in).
_OPEN_ROOTS: Final = ("/_open", "/_eventjobs/ui")
_LEADING_DIGITS: Final = re.compile(r"[0-9]+")
#: Probes for load balancers and Kubernetes: no credentials needed.
_PROBES: Final = ("/_eventjobs/health", "/_eventjobs/ready")
#: Monitoring endpoints: never queued, and answered while the runtime starts.
_OPERATIONS: Final = (*_PROBES, "/_eventjobs/metrics")


def split_database(path: str) -> tuple[str, str]:
    """Split ``/_db/<name>/rest`` into ``(name, "/rest")``.

    A path without the prefix belongs to ``_system``; ``/_db/<name>`` alone
    is that database's root, ``/``.
    """
    if not path.startswith("/_db/"):
        return DEFAULT_DATABASE, path
    name, slash, rest = path[len("/_db/") :].partition("/")
    return name, slash + rest if slash else "/"


def strip_raw_database(raw_path: bytes) -> bytes:
    """The same split on the raw (still percent-encoded) path."""
    if not raw_path.startswith(b"/_db/"):
        return raw_path
    _name, slash, rest = raw_path[len(b"/_db/") :].partition(b"/")
    return slash + rest if slash else b"/"


def is_job_api(path: str) -> bool:
    """Whether *path* (database prefix removed) is the job API (spec 1.4), or
    one of the audit endpoints that are treated like it (never queued)."""
    for root in _ALWAYS_SYNCHRONOUS_ROOTS:
        if path == root or path.startswith(root + "/"):
            return True
    return False


def is_probe(path: str) -> bool:
    """Whether *path* (database prefix removed) is a health or readiness
    probe: answered without credentials."""
    return path in _PROBES


def is_operations(path: str) -> bool:
    """Whether *path* (database prefix removed) is a monitoring endpoint
    (probes and metrics): always synchronous, served while starting."""
    return path in _OPERATIONS


def is_open(path: str) -> bool:
    """Whether *path* (database prefix removed) needs no credentials:
    ArangoDB's ``/_open/`` namespace (login) and the dashboard's static files
    under ``/_eventjobs/ui``."""
    return any(path == root or path.startswith(root + "/") for root in _OPEN_ROOTS)


def job_api_parts(tail: str) -> list[str]:
    """The path parts after ``/_api/job``: ``""`` and ``"/"`` have none,
    ``"/1/cancel"`` has two; a trailing slash adds no part (spec 3)."""
    parts = tail.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


#: Ids are positive 64-bit integers: more digits than this name no job.
_MAX_ID_DIGITS = 20


def parse_job_id(text: str) -> int:
    """Leading decimal digits only: ``"123abc"`` is 123, no digits is 0.

    More digits than any 64-bit id has also read as 0 (which never exists),
    without converting them (a 5,000-digit id must not cost, or fail, more).
    """
    match = _LEADING_DIGITS.match(text)
    if not match or len(match.group()) > _MAX_ID_DIGITS:
        return 0
    return int(match.group())
