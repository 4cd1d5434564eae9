"""A plain Flask app (WSGI), served behind the job layer:

    eventjobs serve --app flask_app:app --app-isolation process

Every route accepts ``x-arango-async``; a cancel of a job stuck in
``/slow`` kills the worker process running it (docs/embedding.md).
"""

import time

from flask import Flask, Response, request

app = Flask(__name__)


@app.post("/shout")
def shout():
    return request.get_data().upper()


@app.get("/report")
def report():
    # A streaming response: the job stores it whole.
    def rows():
        for number in range(3):
            yield f"row {number}\n"

    return Response(rows(), mimetype="text/plain")


@app.get("/slow")
def slow():
    # Blocking work with no checkpoint: only killing the process stops it.
    seconds = float(request.args.get("seconds", "30"))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return {"slept": seconds, "job": request.environ.get("eventjobs.job_id")}
