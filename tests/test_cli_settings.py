"""Settings as a new user gives them: from the environment, and what the
command line and the plain hypercorn factory say when one is wrong."""

from __future__ import annotations

import logging

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
