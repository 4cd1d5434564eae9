"""A plain ASGI app for the client's tests, served with
``--app tests.client.progress_app:app``.

``POST /gated?gate=PATH`` reports progress 0.5 ("halfway there"), then waits
until the file PATH exists (the test creates it once it has seen the
progress), reports 1.0 and answers ``200 all done``. The file keeps the job
pending exactly as long as the test needs, without timing.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import trio

from eventjobs import report_progress


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    query = parse_qs(scope["query_string"].decode())
    if scope["path"] == "/gated" and "gate" in query:
        report_progress(0.5, "halfway there")
        while not os.path.exists(query["gate"][0]):
            await trio.sleep(0.01)
        report_progress(1.0, "finished")
        status, body = 200, b"all done"
    else:
        status, body = 404, b"no such page"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": body})
