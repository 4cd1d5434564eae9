"""Long-running endpoints of the three kinds (docs/long-running.md).

Run it (from this directory)::

    EVENTJOBS_JOURNAL=/tmp/eventjobs-journal hypercorn -k trio long_running_app:app \
        --bind 127.0.0.1:8529

then, for example::

    curl -i -X POST -H 'x-arango-async: store' -H 'x-eventjobs-timeout: 60' \
         'http://127.0.0.1:8529/primes?limit=3000000&chunks=30'
    curl -i http://127.0.0.1:8529/_api/job/1                # 204 + x-eventjobs-progress
    curl -i -X PUT http://127.0.0.1:8529/_api/job/1/cancel  # kills the worker process
    curl -i -X PUT -H 'x-eventjobs-wait: 10' http://127.0.0.1:8529/_api/job/1   # 410
"""

import time

import trio
from quart import request

import primes
from eventjobs import Settings, create_app, report_progress, run_in_process, run_in_thread

# Every setting from EVENTJOBS_* (journal, worker processes, job timeout, ...).
app = create_app(Settings.from_env())


def bad_parameter():
    return {"code": 400, "error": True, "errorMessage": "bad parameter", "errorNum": 400}, 400


def _int_arg(name, default, low, high):
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return None
    return value if low <= value <= high else None


# -- 1. async work: a cancel or a timeout stops it at the next await ------------


@app.route("/crawl", methods=["POST"])
async def crawl():
    """Fetch ``pages`` pages (simulated by a sleep each), reporting progress."""
    pages = _int_arg("pages", 10, 1, 10_000)
    if pages is None:
        return bad_parameter()
    for page in range(1, pages + 1):
        await trio.sleep(0.05)  # stands in for an HTTP request, a query...
        report_progress(page / pages, f"page {page} of {pages}")
    return {"pages": pages}


# -- 2. CPU-bound work in worker processes: a cancel kills the process ----------


@app.route("/primes", methods=["POST"])
async def count_primes():
    """Count the primes below ``limit`` in ``chunks`` worker-process calls.

    Each chunk runs in a worker process; between chunks the handler reports
    progress (a worker process cannot report it itself). A cancel or a
    timeout kills the process running the current chunk at once.
    """
    limit = _int_arg("limit", 100_000, 2, 10**9)
    chunks = _int_arg("chunks", 10, 1, 1000)
    if limit is None or chunks is None:
        return bad_parameter()
    step = -(-limit // chunks)  # ceiling division
    total = 0
    for index, start in enumerate(range(0, limit, step), start=1):
        total += await run_in_process(primes.count_primes, start, min(start + step, limit))
        report_progress(min(1.0, index * step / limit), f"below {min(start + step, limit)}")
    return {"limit": limit, "primes": total}


# -- 3. blocking work in a thread: honest about what a cancel cannot do -----------


def convert_document(seconds: float) -> str:
    """A blocking library call (here: sleeps in slices), reporting progress
    from its thread. Nothing can interrupt it: a cancel waits for it."""
    slices = 10
    for done in range(1, slices + 1):
        time.sleep(seconds / slices)
        report_progress(done / slices, f"converted {done * 10}%")
    return "converted"


@app.route("/convert", methods=["POST"])
async def convert():
    """Run a blocking conversion in a thread. Cancelled, the job answers
    ``x-eventjobs-state: cancelling`` until the conversion returns."""
    try:
        seconds = float(request.args.get("seconds", "1"))
    except ValueError:
        return bad_parameter()
    if not 0 <= seconds <= 600:
        return bad_parameter()
    return {"result": await run_in_thread(convert_document, seconds)}
