"""Tables: aligned columns; colour only when asked (a terminal)."""

from __future__ import annotations

from eventjobs.audit.tables import iso, render


def test_columns_are_aligned_without_trailing_spaces():
    """Each column starts at the same offset on every line."""
    text = render(["A", "LONGER"], [["wide cell", "x"], ["b", ""]])
    assert text == "A          LONGER\nwide cell  x\nb\n"


def test_plain_output_has_no_escape_codes():
    """Without colour (a pipe) no ANSI escape is written."""
    assert "\x1b" not in render(["EVENT"], [["done"]], colour_column=0)


def test_colour_marks_header_and_event_type():
    """With colour the header is bold and a known event type coloured."""
    text = render(["EVENT"], [["done"]], colour=True, colour_column=0)
    assert text == "\x1b[1mEVENT\x1b[0m\n\x1b[32mdone\x1b[0m\n"


def test_iso_times_are_utc_with_milliseconds():
    """Unix seconds print as UTC ISO 8601 with milliseconds."""
    assert iso(1_764_417_600.25) == "2025-11-29T12:00:00.250Z"


def test_progress_bar_draws_and_erases_only_for_large_reads():
    """The bar is drawn for a large read and erased at the end; small reads draw nothing."""
    import io

    from eventjobs.audit.progress import ProgressBar

    small, large = io.StringIO(), io.StringIO()
    ProgressBar(small, "reading", min_bytes=100)(10, 50)
    bar = ProgressBar(large, "reading", min_bytes=100)
    bar(50, 200)
    bar.close()
    assert small.getvalue() == ""
    assert large.getvalue() == "\rreading [#######.......................]  25%\r\x1b[K"
