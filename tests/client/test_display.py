"""The spinner and progress bar: the rendering on its own, the drawing on a
stream that says it is a terminal, and one real run on a pseudo-terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest

from eventjobs.client.api import Pending
from eventjobs.client.display import (
    CLEAR_LINE,
    Silent,
    Spinner,
    display_for,
    format_elapsed,
    render_line,
)
from tests.client.helpers import Terminal, job
from tests.e2e.helpers import wait_until
from tests.support import ServerProcess


def line(pending: Pending | None, **overrides: object) -> str:
    values: dict[str, object] = {
        "job_id": 12,
        "pending": pending,
        "elapsed": 3.4,
        "frame": 0,
        "width": 100,
    }
    values.update(overrides)
    return render_line(**values)  # type: ignore[arg-type]


def test_before_any_status_and_without_progress():
    assert line(None) == "⠋ job 12 waiting 3s"
    assert line(Pending()) == "⠋ job 12 pending 3s"
    assert line(Pending(cancelling=True)) == "⠋ job 12 cancelling 3s"


def test_a_progress_bar_with_percent_and_message():
    assert line(Pending(progress=(0.42, "page 42 of 100"))) == (
        "⠋ job 12 [████████░░░░░░░░░░░░]  42% page 42 of 100 3s"
    )
    assert (
        line(Pending(progress=(1.0, ""))) == "⠋ job 12 [████████████████████] 100% 3s"
    )
    assert line(Pending(progress=(0.5, "x"), cancelling=True)).startswith(
        "⠋ job 12 cancelling [██████████░░░░░░░░░░]  50% x"
    )


def test_the_spinner_turns_with_the_frame():
    frames = {line(None, frame=frame)[0] for frame in range(10)}
    assert len(frames) == 10
    assert line(None, frame=10) == line(None, frame=0)


def test_a_message_is_kept_on_one_line():
    assert line(Pending(progress=(0.1, "two\nlines\r\tand tabs"))) == (
        "⠋ job 12 [██░░░░░░░░░░░░░░░░░░]  10% two lines and tabs 3s"
    )


def test_the_line_never_reaches_the_last_column():
    long = line(Pending(progress=(0.3, "m" * 300)), width=60)
    assert len(long) == 59 and long.endswith("…")
    assert len(line(Pending(progress=(0.3, "m" * 300)), width=60, unicode=False)) == 59


def test_ascii_only_terminals():
    assert line(Pending(progress=(0.25, "a")), unicode=False) == (
        "| job 12 [#####---------------]  25% a 3s"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (60, "1m00s"), (125, "2m05s"), (3720, "1h02m")],
)
def test_elapsed_time(seconds: float, text: str):
    assert format_elapsed(seconds) == text


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, and keeps what was drawn."""

    encoding = "utf-8"  # type: ignore[assignment]

    def isatty(self) -> bool:
        return True


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    assert isinstance(display_for(io.StringIO(), 1), Silent)


def test_the_spinner_draws_updates_and_clears_its_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTerminal()
    spinner = display_for(stream, 7)
    assert isinstance(spinner, Spinner)
    with spinner:
        wait_until(lambda: "job 7 waiting" in stream.getvalue(), "the first frame")
        spinner.update(Pending(progress=(0.5, "half")))
        wait_until(lambda: "50% half" in stream.getvalue(), "the progress bar")
    drawn = stream.getvalue()
    assert drawn.startswith(CLEAR_LINE) and drawn.endswith(CLEAR_LINE)
    assert "\n" not in drawn  # one line, redrawn in place


def test_a_dumb_terminal_gets_no_spinner(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(display_for(FakeTerminal(), 1), Silent)


@pytest.mark.e2e
def test_progress_shows_on_a_real_terminal(server: ServerProcess, tmp_path: Path):
    """submit --wait on a pseudo-terminal: the bar shows the job's own
    report, then the line is cleared and the result printed (with a newline,
    on a terminal)."""
    gate = tmp_path / "gate"
    terminal = Terminal.run(
        "--url", server.url, "submit", "POST", f"/gated?gate={gate}", "--wait"
    )
    try:
        terminal.read_until("50% halfway there")
    finally:
        gate.touch()
    assert terminal.finish() == 0, terminal.text()
    text = terminal.text()
    assert re.search(r"job \d+ \[██████████░░░░░░░░░░\]  50% halfway there \d+s", text)
    assert text.endswith(CLEAR_LINE + "all done\r\n")  # the terminal's newline is \r\n


@pytest.mark.e2e
def test_no_spinner_when_stderr_is_a_pipe(server: ServerProcess, tmp_path: Path):
    """The same job with pipes: clean output, no control characters."""
    gate = tmp_path / "gate"
    gate.touch()
    result = job("submit", "POST", f"/gated?gate={gate}", "--wait", url=server.url)
    assert (result.returncode, result.stdout, result.stderr) == (0, "all done", "")


@pytest.mark.e2e
def test_ctrl_c_on_a_terminal_clears_the_line_and_leaves_the_job(server: ServerProcess):
    terminal = Terminal.run(
        "--url", server.url, "submit", "POST", "/_admin/sleep?duration=60", "--wait"
    )
    shown = terminal.read_until(" pending ")  # the first status has come back
    job_id = int(re.findall(r"job (\d+) pending", shown)[-1])
    terminal.write("\x03")  # the terminal turns it into SIGINT
    assert terminal.finish() == 130
    assert terminal.text().endswith(
        f"{CLEAR_LINE}eventjobs job submit: interrupted: job {job_id} is left as it was, "
        "still running or waiting to be fetched; get its result later with "
        f"'eventjobs job fetch {job_id} --wait'\r\n"
    )
    assert httpx.get(f"{server.url}/_api/job/{job_id}").status_code == 204
    httpx.put(f"{server.url}/_api/job/{job_id}/cancel")
