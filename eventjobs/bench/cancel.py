"""Cancel latency: from sending ``PUT /_api/job/{id}/cancel`` for a running
async sleep job to the moment its stored 410 can be fetched.

The end is observed by polling ``PUT /_api/job/{id}`` on the same keep-alive
connection (204 while pending, the 410 once stored), so the figure includes
one request's round trip of resolution. Jobs are submitted in groups and
given half a second to start on the otherwise idle server (starting takes
two group commits, about a millisecond), so they are running, not queued,
when cancelled.
"""

from __future__ import annotations

import http.client
import time

from .stats import percentile

SLEEP_SECONDS = 60
GROUP = 32


def cancel_latencies(host: str, port: int, samples: int) -> list[float]:
    """*samples* latencies in milliseconds.

    Raises:
        RuntimeError: the server did not answer as the API says.
    """
    connection = http.client.HTTPConnection(host, port, timeout=10)

    def call(
        method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str]]:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.headers)

    latencies: list[float] = []
    try:
        while len(latencies) < samples:
            ids = []
            for _ in range(min(GROUP, samples - len(latencies))):
                status, headers = call(
                    "POST",
                    f"/_admin/sleep?duration={SLEEP_SECONDS}",
                    {"x-arango-async": "store"},
                )
                if status != 202:
                    raise RuntimeError(f"submitting a sleep job answered {status}")
                ids.append(headers["x-arango-async-id"])
            time.sleep(0.5)
            for job_id in ids:
                start = time.perf_counter()
                status, _ = call("PUT", f"/_api/job/{job_id}/cancel")
                if status != 200:
                    raise RuntimeError(f"cancelling job {job_id} answered {status}")
                while True:
                    status, _ = call("PUT", f"/_api/job/{job_id}")
                    if status == 410:
                        break
                    if status != 204:
                        raise RuntimeError(
                            f"fetching cancelled job {job_id} answered {status}"
                        )
                latencies.append((time.perf_counter() - start) * 1e3)
    finally:
        connection.close()
    return latencies


def summary(latencies: list[float]) -> tuple[float, float]:
    return percentile(latencies, 50), percentile(latencies, 99)
