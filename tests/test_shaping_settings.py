"""The options of jobs a client can shape: on the command line, in the
environment, and refused with a sentence when wrong."""

from __future__ import annotations

import pytest

from eventjobs.cli import build_parser
from eventjobs.serve_options import settings_from
from eventjobs.errors import ConfigError
from eventjobs.settings import Settings

OPTIONS = {
    "idempotency_window": ("--idempotency-window", 86400.0),
    "max_delay": ("--max-delay", 30 * 86400.0),
    "priority_aging": ("--priority-aging", 60.0),
}


@pytest.mark.parametrize("name", OPTIONS)
def test_each_option_has_its_default_a_flag_and_a_variable(name):
    flag, default = OPTIONS[name]
    assert getattr(Settings(), name) == default
    args = build_parser().parse_args(["serve", flag, "12.5"])
    assert getattr(settings_from(args), name) == 12.5
    variable = f"EVENTJOBS_{name.upper()}"
    assert getattr(Settings.from_env({variable: "7"}), name) == 7.0


@pytest.mark.parametrize("name", OPTIONS)
def test_a_negative_value_is_refused_naming_the_setting(name):
    with pytest.raises(ConfigError, match=name):
        Settings(**{name: -1})


def test_key_concurrency_has_its_default_a_flag_and_a_variable():
    assert Settings().key_concurrency == 1
    args = build_parser().parse_args(["serve", "--key-concurrency", "3"])
    assert settings_from(args).key_concurrency == 3
    assert Settings.from_env({"EVENTJOBS_KEY_CONCURRENCY": "4"}).key_concurrency == 4
    with pytest.raises(ConfigError, match="key_concurrency"):
        Settings(key_concurrency=0)
