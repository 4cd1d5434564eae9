"""Settings for long-running work: defaults, environment, validation."""

from __future__ import annotations

import os

import pytest

from eventjobs import Settings
from eventjobs.errors import ConfigError


def test_worker_processes_default_to_the_number_of_cores():
    """--worker-processes defaults to one process per core."""
    assert Settings().worker_processes == (os.cpu_count() or 1)


def test_long_running_settings_come_from_the_environment():
    """EVENTJOBS_WORKER_PROCESSES, _JOB_TIMEOUT, _MAX_WAIT, _PROGRESS_INTERVAL are read."""
    settings = Settings.from_env(
        {
            "EVENTJOBS_WORKER_PROCESSES": "3",
            "EVENTJOBS_JOB_TIMEOUT": "2.5",
            "EVENTJOBS_MAX_WAIT": "7",
            "EVENTJOBS_PROGRESS_INTERVAL": "0.25",
        }
    )
    assert (
        settings.worker_processes,
        settings.job_timeout,
        settings.max_wait,
        settings.progress_interval,
    ) == (3, 2.5, 7.0, 0.25)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EVENTJOBS_WORKER_PROCESSES", "0", "EVENTJOBS_WORKER_PROCESSES must"),
        ("EVENTJOBS_WORKER_PROCESSES", "two", "EVENTJOBS_WORKER_PROCESSES"),
        ("EVENTJOBS_JOB_TIMEOUT", "-1", "EVENTJOBS_JOB_TIMEOUT must"),
        ("EVENTJOBS_MAX_WAIT", "nan", "EVENTJOBS_MAX_WAIT must"),
        ("EVENTJOBS_PROGRESS_INTERVAL", "soon", "EVENTJOBS_PROGRESS_INTERVAL"),
    ],
)
def test_bad_long_running_setting_is_refused_naming_it(variable, value, message):
    """A bad value stops the server with a message naming the setting."""
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({variable: value})
