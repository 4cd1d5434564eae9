"""A mounted app (``--app tests.browser.progress_app:app``) for the dashboard's
tests: a job that reports progress and then waits, and a job held until a
second (synchronous) request releases it, so that a test sees it pending
for as long as it needs, not for a guessed duration."""

from __future__ import annotations

import trio
from quart_trio import QuartTrio

from eventjobs import report_progress

app = QuartTrio("progress_app")

#: name -> event set by ``/release/<name>``.
_held: dict[str, trio.Event] = {}


@app.route("/steps/<int:count>", methods=["POST"])
async def steps(count: int) -> str:
    for step in range(1, count + 1):
        report_progress(step / (count + 1), f"step {step} <i>of</i> {count}")
        await trio.lowlevel.checkpoint()
    await trio.sleep(300)  # until cancelled
    return "unreachable"


@app.route("/hold/<name>", methods=["POST"])
async def hold(name: str) -> str:
    await _held.setdefault(name, trio.Event()).wait()
    return "released"


@app.route("/release/<name>", methods=["POST"])
async def release(name: str) -> str:
    _held.setdefault(name, trio.Event()).set()
    return "ok"
