"""``eventjobs journal export``: one flat row per event, for spreadsheets and log tools.

Columns (:data:`COLUMNS`) are the same for every event type; a field an event
does not have is empty in CSV and null in JSON lines. ``owner``, ``method``
and ``path`` are the job's (from its ``queued`` record), repeated on every
row so each row stands alone. Bodies are not exported, only their sizes
(``eventjobs journal show --body`` prints them).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from ..codec import encode_event
from ..records import Recorded
from .tables import iso
from .timeline import JobFacts, actor

COLUMNS = (
    "seq",
    "time",
    "iso_time",
    "type",
    "job",
    "actor",
    "owner",
    "method",
    "path",
    "query",
    "client",
    "store",
    "request_bytes",
    "status",
    "response_bytes",
    "reason",
)


def rows(records: Iterable[Recorded]) -> Iterator[dict[str, Any]]:
    """Each record as a dict with exactly the keys of :data:`COLUMNS`."""
    facts = JobFacts()
    for record in records:
        event = record.event
        job = facts.observe(event)
        data = encode_event(event)
        request = data.get("request") or {}
        response = data.get("response")
        yield {
            "seq": record.seq,
            "time": event.time,
            "iso_time": iso(event.time),
            "type": data["type"],
            "job": event.job_id,
            "actor": actor(event, job),
            "owner": job.owner,
            "method": None if job.method == "?" else job.method,
            "path": None if job.path == "?" else job.path,
            "query": request.get("query"),
            "client": request.get("client"),
            "store": data.get("store"),
            "request_bytes": len(event.request.body) if "request" in data else None,  # type: ignore[union-attr]
            "status": response["status"] if response else None,
            "response_bytes": len(event.response.body) if response else None,  # type: ignore[union-attr]
            "reason": data.get("reason"),
        }


def export(records: Iterable[Recorded], fmt: str, out: TextIO) -> int:
    """Write *records* to *out* as ``jsonl`` or ``csv``; return the row count."""
    count = 0
    if fmt == "jsonl":
        for row in rows(records):
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
            count += 1
    else:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows(records):
            writer.writerow({k: _cell(v) for k, v in row.items()})
            count += 1
    return count


def _cell(value: Any) -> Any:
    """CSV cells: empty for null, ``true``/``false`` as in the JSON lines."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
