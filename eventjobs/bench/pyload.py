"""The Python fallback load generator, for machines without wrk.

``python -m eventjobs.bench.pyload KIND URL CONNECTIONS SECONDS [ARGS...]``
runs one thread per connection (stdlib ``http.client``, keep-alive) and
prints the same ``BENCH {json}`` line as the wrk scripts.

It is **client-bound**: one Python process tops out below what the server
can serve (about 900-1,000 req/s on the reference machine, see
docs/performance.md), so its figures are lower bounds and the harness flags
them as such. Lifecycle here is a loop per connection (submit, then fetch
until the result comes), which is the same work as wrk's interleaving.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sys
import threading
import time
from urllib.parse import urlsplit

from .lua import SUBMIT_BODY, SUBMIT_PATH
from .stats import percentile

_SUBMIT_HEADERS = {"content-type": "application/json", "x-arango-async": "store"}


class _Worker(threading.Thread):
    def __init__(
        self,
        kind: str,
        host: str,
        port: int,
        ids: itertools.count,
        last: int,
        stop_at: float,
    ) -> None:
        super().__init__(daemon=True)
        self.kind, self.ids, self.lastid, self.stop_at = kind, ids, last, stop_at
        self.connection = http.client.HTTPConnection(host, port, timeout=10)
        self.latencies: list[float] = []
        self.ok = self.other = self.errors = self.polls = 0
        self.first = self.last = 0
        self.ranout = False

    def _call(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> http.client.HTTPResponse:
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        response.read()
        self.latencies.append(time.perf_counter() - start)
        return response

    def _submit(self) -> int | None:
        response = self._call("PUT", SUBMIT_PATH, SUBMIT_BODY, _SUBMIT_HEADERS)
        if response.status != 202:
            return None
        job_id = int(response.headers["x-arango-async-id"])
        self.first = job_id if self.first == 0 else min(self.first, job_id)
        self.last = max(self.last, job_id)
        return job_id

    def step(self) -> None:
        if self.kind == "baseline":
            ok = self._call("GET", "/_api/version").status == 200
        elif self.kind == "submit":
            ok = self._submit() is not None
        elif self.kind == "fetch":
            job_id = next(self.ids)
            if job_id > self.lastid:
                self.ranout = True
                self.stop_at = 0
                return
            ok = self._call("PUT", f"/_api/job/{job_id}").status == 200
        else:  # lifecycle
            job_id = self._submit()
            ok = False
            while job_id is not None and time.perf_counter() < self.stop_at:
                status = self._call("PUT", f"/_api/job/{job_id}").status
                if status == 204:
                    self.polls += 1
                else:
                    ok = status == 200
                    break
        if ok:
            self.ok += 1
        else:
            self.other += 1

    def run(self) -> None:
        while time.perf_counter() < self.stop_at:
            try:
                self.step()
            except (OSError, http.client.HTTPException):
                self.errors += 1
                self.connection.close()


def main(argv: list[str]) -> int:
    kind, url, connections, seconds, *args = argv
    parts = urlsplit(url)
    first, last = (int(args[0]), int(args[1])) if kind == "fetch" else (1, 0)
    ids = itertools.count(first)
    start = time.perf_counter()
    stop_at = start + float(seconds)
    workers = [
        _Worker(
            kind, parts.hostname or "127.0.0.1", parts.port or 80, ids, last, stop_at
        )
        for _ in range(int(connections))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    latencies = [sample for worker in workers for sample in worker.latencies]
    firsts = [worker.first for worker in workers if worker.first]
    result = {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "ok": sum(worker.ok for worker in workers),
        "other": sum(worker.other for worker in workers),
        "socket_errors": sum(worker.errors for worker in workers),
        "p50_us": int(percentile(latencies, 50) * 1e6) if latencies else 0,
        "p99_us": int(percentile(latencies, 99) * 1e6) if latencies else 0,
        "first": min(firsts) if firsts else 0,
        "last": max((worker.last for worker in workers), default=0),
        "ranout": int(any(worker.ranout for worker in workers)),
        "polls": sum(worker.polls for worker in workers),
    }
    print("BENCH " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
