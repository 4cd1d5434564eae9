"""schemathesis against the OpenAPI document, on a real server with
authentication on: generated requests for every documented operation, a
bounded number of examples each, checked for server errors and for answers
the document does not describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from eventjobs.http.openapi import document
from tests.support import ServerProcess, basic, server_process, write_users_file

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_dict(document())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory: Path = tmp_path_factory.mktemp("schemathesis")
    with server_process(
        "--journal",
        ":memory:",
        "--shutdown-timeout",
        "0",
        # Generated durations must not make the run slow.
        "--max-sleep",
        "0.01",
        "--users",
        write_users_file(directory / "users.json"),
    ) as server:
        yield server


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, server):
    """No generated request gets a 5xx or an answer outside the document."""
    # A followed stream never ends: the journal follows when asked to, the
    # dashboard's events unless asked not to.
    follows_by_default = case.path == "/_eventjobs/events"
    if (case.query or {}).get(
        "follow", "true" if follows_by_default else "false"
    ) == "true":
        case.query = {**(case.query or {}), "follow": "false"}
    case.call_and_validate(base_url=server.url, headers=basic("alice"), checks=CHECKS)
