"""A plain ASGI app (no framework) to put behind the job layer.

Run it (from this directory)::

    eventjobs serve --app mounted_app:app

Every path of it then accepts ``x-arango-async``::

    curl -i -X POST -H 'x-arango-async: store' -d 'make me loud' http://127.0.0.1:8529/shout
    curl -i -X PUT http://127.0.0.1:8529/_api/job/1
"""

#: What the app's ASGI lifespan went through (eventjobs runs it for you).
lifespan_events: list[str] = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                lifespan_events.append("startup")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                lifespan_events.append("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/shout" and scope["method"] == "POST":
        status, answer = 200, body.upper()
    else:
        status, answer = 404, b"no such page"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"x-mounted", b"yes")],
        }
    )
    await send({"type": "http.response.body", "body": answer})
