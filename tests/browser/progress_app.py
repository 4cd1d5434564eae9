"""A mounted app (``--app tests.browser.progress_app:app``) whose job reports
progress and then waits, for the dashboard's progress tests."""

from __future__ import annotations

import trio
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
