"""eventjobs as a library: your own routes, each also runnable as a job.

Run it (from this directory)::

    hypercorn -k trio library_app:app --bind 127.0.0.1:8529

then::

    curl -i -X POST -H 'x-arango-async: store' -H 'content-type: application/json' \
         -d '{"rows": 200}' http://127.0.0.1:8529/reports
    curl -i -X PUT http://127.0.0.1:8529/_api/job/1
"""

import os

import trio
from quart import request

from eventjobs import Settings, create_app, current_job_id

app = create_app(Settings(journal=os.environ.get("EVENTJOBS_JOURNAL", "./journal")))


@app.route("/reports", methods=["POST"])
async def make_report():
    """Sum ``rows`` numbers slowly. A cancel of the job stops it at the next
    ``await``: the loop really ends, and the job's result becomes the 410."""
    spec = await request.get_json(force=True, silent=True) or {}
    rows = spec.get("rows", 10)
    if not isinstance(rows, int) or not 0 <= rows <= 100_000:
        return {"error": True, "code": 400, "errorNum": 400, "errorMessage": "bad rows"}, 400
    total = 0
    for row in range(rows):
        await trio.sleep(0.001)  # stands in for real async work (I/O, a query...)
        total += row
    # current_job_id() is None when the same route is called synchronously.
    return {"rows": rows, "total": total, "job": current_job_id()}
