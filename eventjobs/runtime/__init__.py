"""The job runtime: what the HTTP layer calls (see :mod:`.service`)."""

from .health import Readiness
from .housekeeping import RETENTION_INTERVAL, SNAPSHOT_CHECK_INTERVAL
from .modes import node_name
from .health import NOT_RETRIED
from .service import Runtime, RuntimeStatistics, longest_shutdown
from .startup import REPLAY_PROGRESS_EVERY

__all__ = [
    "NOT_RETRIED",
    "REPLAY_PROGRESS_EVERY",
    "RETENTION_INTERVAL",
    "SNAPSHOT_CHECK_INTERVAL",
    "Readiness",
    "Runtime",
    "RuntimeStatistics",
    "longest_shutdown",
    "node_name",
]
