"""The log formats of ``eventjobs serve``: ``text`` and ``json``.

``json`` writes one JSON object per line: ``time`` (ISO 8601, UTC, with
milliseconds), ``level``, ``logger``, ``message``, then the record's
structured fields (the ``extra`` of the logging call: ``job_id``, ``event``,
``status``, ...), and ``exception`` with the traceback when there is one.
hypercorn's access log records become ``remote``, ``method``, ``path``,
``query``, ``status``, ``bytes``, ``duration_seconds`` and ``user_agent``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Final, TextIO

from .transitions import LOGGER_NAME as JOB_LOGGER

FORMATS: Final = ("text", "json")
LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Attributes every LogRecord has: anything else on a record is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

#: hypercorn access log atoms -> JSON field (never all atoms: they include
#: the process environment).
_ACCESS_ATOMS: Final = {
    "h": "remote",
    "m": "method",
    "U": "path",
    "q": "query",
    "s": "status",
    "B": "bytes",
    "L": "duration_seconds",
    "a": "user_agent",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; see the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.name == "hypercorn.access" and isinstance(record.args, Mapping):
            for atom, field in _ACCESS_ATOMS.items():
                value = record.args.get(atom)
                if value not in (None, "-"):
                    entry[field] = _access_value(field, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _iso_time(created: float) -> str:
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _access_value(field: str, value: object) -> object:
    if field in ("status", "bytes"):
        try:
            return int(str(value))
        except ValueError:
            return value
    if field == "duration_seconds":
        try:
            return float(str(value))
        except ValueError:
            return value
    return value


def configure(
    log_format: str,
    level: str = "info",
    *,
    job_log: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send every log record at *level* and above to *stream* (stderr) in
    *log_format*, replacing the root logger's handlers. Without *job_log*,
    the per-transition job lines (``eventjobs.jobs`` at INFO) stay off.

    Raises:
        ValueError: *log_format* or *level* is not a known one; the message
            says which are.
    """
    if log_format not in FORMATS:
        raise ValueError(
            f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}"
        )
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level.lower()])
    logging.getLogger(JOB_LOGGER).setLevel(
        logging.NOTSET if job_log else logging.WARNING
    )


class _RootOutputOnly(logging.Logger):
    """A logger whose records are written by the root logger's handlers
    only: handlers given to it are kept but never called (see
    :func:`hypercorn_lines_once`)."""

    def callHandlers(self, record: logging.LogRecord) -> None:
        logging.getLogger().callHandlers(record)


def hypercorn_lines_once() -> None:
    """Under the plain hypercorn command line, after :func:`configure`:
    hypercorn's own lines ("Running on ...") are written once, in our
    format.

    hypercorn gives ``hypercorn.error`` a text handler of its own when its
    worker starts serving, after the app factory ran, and lets the logger
    propagate, so each of its lines would appear twice (its text, then our
    format through the root logger). Its own handlers are ignored instead;
    the access log (which hypercorn does not propagate) is left alone.
    """
    logging.getLogger("hypercorn.error").__class__ = _RootOutputOnly
