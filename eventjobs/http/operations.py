"""Endpoints for monitoring: ``/_eventjobs/health``, ``/_eventjobs/ready``
and ``/_eventjobs/metrics`` (see docs/operations.md).

- ``GET /_eventjobs/health``: 200 ``{"alive": true}`` while the process
  serves HTTP at all; 503 ``{"alive": false, "reason": ...}`` only when the
  runtime can never serve (its journal could not be read at start-up), so a
  liveness probe restarts it and the reason shows in its log.
- ``GET /_eventjobs/ready``: 200 ``{"ready": true}`` once the journal replay
  has finished and the journal is writable; else 503 ``{"ready": false,
  "reason": ...}`` (replay progress, the append error, shutting down).
- ``GET /_eventjobs/metrics``: the runtime's metrics in the Prometheus text
  format.

Health and ready need no credentials (probes carry none); metrics need the
same credentials as the API when authentication is on, any user (the async
layer enforces both, see :func:`eventjobs.http.paths.is_probe`). None of
them is ever queued as a job. They are cheap: no journal I/O.
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from ..headers import BUSY_RETRY_AFTER, RETRY_AFTER_HEADER
from ..observe.metrics import CONTENT_TYPE
from ..runtime import Runtime
from .responses import json_response

blueprint = Blueprint("operations", __name__)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["eventjobs"]
    return runtime


@blueprint.route("/_eventjobs/health", methods=["GET"])
async def health() -> Response:
    reason = _runtime().health.fatal_reason
    if reason is not None:
        return _unavailable(json_response({"alive": False, "reason": reason}, 503))
    return json_response({"alive": True})


@blueprint.route("/_eventjobs/ready", methods=["GET"])
async def ready() -> Response:
    readiness = _runtime().readiness()
    if readiness.ready:
        return json_response({"ready": True})
    return _unavailable(
        json_response({"ready": False, "reason": readiness.reason}, 503)
    )


def _unavailable(response: Response) -> Response:
    """A probe's 503, with the ``Retry-After`` every 503 carries."""
    response.headers[RETRY_AFTER_HEADER] = str(BUSY_RETRY_AFTER)
    return response


@blueprint.route("/_eventjobs/metrics", methods=["GET"])
async def metrics() -> Response:
    return Response(_runtime().metrics.exposition(), 200, content_type=CONTENT_TYPE)
