"""Settings as a new user gives them: from the environment, and what the
command line and the plain hypercorn factory say when one is wrong."""

from __future__ import annotations

import logging
import os

import pytest

from eventjobs.cli import build_parser


def test_serve_listens_where_eventjobs_bind_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTJOBS_BIND", "127.0.0.1:9123")
    assert build_parser().parse_args(["serve"]).bind == "127.0.0.1:9123"
    assert (
        build_parser().parse_args(["serve", "--bind", "127.0.0.1:1"]).bind
        == "127.0.0.1:1"
    )


def test_the_hypercorn_factory_says_that_eventjobs_bind_is_not_its_address(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from eventjobs import asgi

    monkeypatch.delenv("EVENTJOBS_LOG_FORMAT", raising=False)
    monkeypatch.setenv("EVENTJOBS_JOURNAL", ":memory:")
    monkeypatch.setenv("EVENTJOBS_BIND", "0.0.0.0:8529")
    with caplog.at_level(logging.WARNING, logger="eventjobs"):
        asgi.create_app()
    (warning,) = [
        r.getMessage() for r in caplog.records if "EVENTJOBS_BIND" in r.getMessage()
    ]
    assert "hypercorn" in warning and "--bind" in warning


def serve_settings(*options: str):
    from eventjobs.serve_options import settings_from

    return settings_from(build_parser().parse_args(["serve", *options]))


def test_serve_reads_every_setting_from_the_environment_and_the_command_line_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("EVENTJOBS_"):
            monkeypatch.delenv(name)
    assert serve_settings().max_running == 64
    monkeypatch.setenv("EVENTJOBS_MAX_RUNNING", "3")
    monkeypatch.setenv("EVENTJOBS_RESULT_TTL", "60")
    monkeypatch.setenv("EVENTJOBS_REDACT_HEADERS", "x-secret")
    monkeypatch.setenv("EVENTJOBS_SNAPSHOT_EVERY", "7")  # no option for it
    monkeypatch.setenv("EVENTJOBS_UPSTREAM_PASS_AUTH", "1")
    settings = serve_settings()
    assert (
        settings.max_running,
        settings.result_ttl,
        settings.redact_headers,
        settings.snapshot_every,
        settings.upstream_pass_auth,
    ) == (3, 60.0, ("x-secret",), 7, True)
    settings = serve_settings(
        "--max-running", "5", "--result-ttl", "9", "--redact-header", "x-other"
    )
    assert (settings.max_running, settings.result_ttl, settings.redact_headers) == (
        5,
        9.0,
        ("x-other",),
    )


def test_a_bad_environment_value_stops_serve_naming_the_variable_not_other_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eventjobs.errors import ConfigError

    monkeypatch.setenv("EVENTJOBS_MAX_RUNNING", "0")
    monkeypatch.setenv("EVENTJOBS_NODE_LEASE", "soon")
    with pytest.raises(ConfigError) as raised:
        serve_settings("--max-running", "2")
    assert "EVENTJOBS_" in str(raised.value), raised.value
    # Only serve reads them: another command parses as before.
    assert build_parser().parse_args(["journal", "verify", "j"]).command
