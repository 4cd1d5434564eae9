"""Long journal lines (big bodies) read in linear time and bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from eventjobs.events import JobDone, RecordedResponse
from eventjobs.journal import FileJournal
from eventjobs.journal.segments import last_line, list_segments
from tests.journal.contract import numbered

BLOCK = 1 << 16


def naive_last_line(data: bytes) -> bytes | None:
    """What :func:`last_line` must answer, from the whole file at once."""
    end = data.rfind(b"\n")
    if end < 0:
        return None
    return data[data.rfind(b"\n", 0, end) + 1 : end]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"torn, no newline",
        b"\n",
        b"one\n",
        b"one\ntwo\n",
        b"one\ntwo\ntorn",
        b"a" * BLOCK + b"\n",
        b"a" * (BLOCK - 1) + b"\n",
        b"x\n" + b"a" * (BLOCK - 2) + b"\n",
        b"x\n" + b"a" * (3 * BLOCK + 5) + b"\n" + b"t" * (2 * BLOCK + 1),
        b"x" * (2 * BLOCK) + b"\n" + b"t" * BLOCK,
        b"\n" * (BLOCK + 1),
    ],
    ids=lambda data: f"{len(data)}B",
)
def test_last_line_is_the_last_complete_line(tmp_path, data):
    """Across block boundaries, with or without a torn fragment after it."""
    path = tmp_path / "segment"
    path.write_bytes(data)
    assert last_line(path) == naive_last_line(data)


async def test_a_last_line_of_several_mib_costs_one_copy_of_it(tmp_path):
    """Reading back a record with a 6 MiB body holds the line once, not the
    growing buffer plus its next step (which is what made every step
    rescan and recopy everything read so far: quadratic in the line).
    tracemalloc's peak counts allocations, so the bound is deterministic."""
    body = b"0123456789abcdef" * (6 * 1024 * 1024 // 16)
    event = JobDone(
        job_id=1,
        time=1_700_000_000.0,
        response=RecordedResponse(status=200, headers=(), body=body),
    )
    journal = FileJournal.open(tmp_path)
    await journal.append(numbered([event]))
    await journal.aclose()
    path = list_segments(tmp_path)[0].path
    size = path.stat().st_size
    tracemalloc.start()
    try:
        line = last_line(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert line is not None and len(line) == size - 1
    assert peak < len(line) + 4 * BLOCK, (peak, len(line))
    # The server's start reads the same line (its head) and the body is intact.
    reopened = FileJournal.open(tmp_path)
    assert reopened.head == 1
    (record,) = reopened.read()
    assert record.event.response.body == body
    await reopened.aclose()
