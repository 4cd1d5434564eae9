"""Routes with long-running work for the tests of eventjobs.work."""

from __future__ import annotations

import threading
from collections import defaultdict

from quart import Quart, Response, request

from eventjobs import report_progress, run_in_process, run_in_thread
from tests import functions
from tests.http.conftest import Gates


class Threads:
    """Per-name threading events a test sets to let a thread job return."""

    def __init__(self) -> None:
        self.release: defaultdict[str, threading.Event] = defaultdict(threading.Event)
        self.started: defaultdict[str, threading.Event] = defaultdict(threading.Event)


def add_long_routes(app: Quart, gates: Gates, threads: Threads) -> None:
    @app.route("/test/spin", methods=["POST"])
    async def spin() -> Response:
        await run_in_process(functions.spin_forever, request.args["marker"])
        return Response("unreachable", 200)

    @app.route("/test/add", methods=["GET"])
    async def add() -> Response:
        total = await run_in_process(
            functions.add, int(request.args["a"]), int(request.args["b"])
        )
        return Response(str(total), 200)

    @app.route("/test/lambda", methods=["POST"])
    async def unpicklable() -> Response:
        await run_in_process(lambda: 1)
        return Response("unreachable", 200)

    @app.route("/test/thread/<name>", methods=["POST"])
    async def thread(name: str) -> Response:
        value = await run_in_thread(
            functions.wait_for, threads.release[name], threads.started[name], name
        )
        return Response(f"thread {value}", 200)

    @app.route("/test/progress/<int:count>", methods=["POST"])
    async def progress(count: int) -> Response:
        for step in range(1, count + 1):
            report_progress(step / count, f"step {step}")
        await gates.wait("progress")
        return Response("reported", 200)

    @app.route("/test/thread-progress", methods=["POST"])
    async def thread_progress() -> Response:
        await run_in_thread(report_progress, 0.5, "from a thread")
        await gates.wait("thread-progress")
        return Response("ok", 200)
