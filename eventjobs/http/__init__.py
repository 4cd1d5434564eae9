"""The HTTP edge: the Quart-Trio app, the async job layer, the job API."""

from __future__ import annotations

from .app import create_app, runtime_of
from .context import current_caller, current_database, current_job_id
from .rerun import rerun_safe

__all__ = [
    "create_app",
    "current_caller",
    "current_database",
    "current_job_id",
    "rerun_safe",
    "runtime_of",
]
