"""run_in_thread stopped before its thread starts: nothing ran, nothing to
wait for. Each case runs in a subprocess, because the failure it guards
against is a shielded wait that never ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CASES = {
    "already cancelled": """
        with trio.CancelScope() as scope:
            scope.cancel()
            await run_in_thread(time.sleep, 0)
        assert scope.cancelled_caught
    """,
    "cancelled while waiting for a place": """
        limiter = trio.CapacityLimiter(1)
        release = threading.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(run_in_thread, release.wait, limiter=limiter))
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.01) as scope:
                await run_in_thread(time.sleep, 0, limiter=limiter)
            assert scope.cancelled_caught
            release.set()
    """,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_cancel_before_the_thread_starts_ends_the_call(case):
    body = textwrap.indent(textwrap.dedent(CASES[case]), "    ")
    script = (
        "import threading, time, trio, trio.testing\n"
        "from functools import partial\n"
        "from eventjobs.work.thread import run_in_thread\n"
        f"async def main():\n{body}\n"
        "trio.run(main)\n"
        "print('returned')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "returned\n", "")
