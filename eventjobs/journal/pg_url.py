"""PostgreSQL journal URLs: recognising, splitting and redacting them. No I/O.

A PostgreSQL journal is named by a libpq URL with one extra query parameter,
``schema``, the PostgreSQL schema that holds this journal's tables (default
``eventjobs``)::

    postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=jobs&sslmode=require
    postgres://localhost/eventjobs

Several journals can live in one database, one schema each. Every other query
parameter goes to libpq unchanged (``sslmode``, ``connect_timeout``, ...).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from ..errors import ConfigError

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_SCHEMA = "eventjobs"

#: Lower-case identifiers only: they need no quoting anywhere, and they stay
#: well inside PostgreSQL's 63-byte limit with the ``_journal`` suffixes.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def is_postgres_url(journal: str) -> bool:
    """Whether a ``--journal`` value names a PostgreSQL journal."""
    return journal.lower().startswith(SCHEMES)


@attrs.frozen
class PostgresLocation:
    """Where a PostgreSQL journal lives."""

    #: What libpq connects with (the URL without ``schema``).
    conninfo: str
    #: The schema holding the journal's tables.
    schema: str
    #: The URL as given, with any password replaced by ``***``: safe to print.
    redacted: str

    def __str__(self) -> str:
        return self.redacted


def parse_postgres_url(url: str) -> PostgresLocation:
    """Split *url* into what libpq takes and the journal's schema.

    Raises:
        ConfigError: it is not a ``postgresql://`` URL, or ``schema`` is not a
            plain lower-case identifier; the message names the redacted URL.
    """
    redacted = redact(url)
    if not is_postgres_url(url):
        raise ConfigError(
            f"{redacted!r} is not a PostgreSQL URL; write postgresql://USER@HOST:PORT/DATABASE"
        )
    try:
        parts = urlsplit(url)
        query = parse_qsl(
            parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)
        )
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as error:
        raise ConfigError(
            f"the PostgreSQL URL {redacted!r} does not parse ({error}); write "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME"
        ) from None
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        raise ConfigError(
            f"the PostgreSQL URL {redacted!r} gives 'schema' more than once"
        )
    schema = schemas[0] if schemas else DEFAULT_SCHEMA
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            f"the PostgreSQL URL {redacted!r}: schema={schema!r} is not a valid journal "
            "schema name; use lower-case letters, digits and '_' (at most 40, not "
            "starting with a digit)"
        )
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    conninfo = urlunsplit(
        (parts.scheme, parts.netloc, parts.path, rest, parts.fragment)
    )
    return PostgresLocation(conninfo=conninfo, schema=schema, redacted=redacted)


def redact(url: str) -> str:
    """*url* with the password (in the user part or as a query parameter) as ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
