"""A mounted app (``--app tests.browser.progress_app:app``) for the
dashboard's tests: a job that reports progress and then waits until
cancelled, and one that waits until a file exists (so a test sees it
pending for exactly as long as it needs, without timing)."""

from __future__ import annotations

import os

import trio
from quart import request
from quart_trio import QuartTrio

from eventjobs import report_progress

app = QuartTrio("progress_app")


@app.route("/steps/<int:count>", methods=["POST"])
async def steps(count: int) -> str:
    for step in range(1, count + 1):
        report_progress(step / (count + 1), f"step {step} <i>of</i> {count}")
        await trio.sleep(0)
    await trio.sleep(300)  # until cancelled
    return "unreachable"


@app.route("/gated", methods=["POST"])
async def gated() -> str:
    gate = request.args["gate"]
    while not os.path.exists(gate):
        await trio.sleep(0.01)
    return "opened"
