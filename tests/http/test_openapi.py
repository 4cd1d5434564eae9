"""docs/openapi.yaml describes what the server answers, and is served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from werkzeug.exceptions import MethodNotAllowed, NotFound

from eventjobs import Settings, create_app
from eventjobs.http.openapi import document

DOCS = Path(__file__).parents[2] / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# Methods the router adds by itself to every rule; the job API answers them 405.
AUTOMATIC = {"HEAD", "OPTIONS"}


def app_rules():
    app = create_app(Settings(journal=":memory:"))
    return app, [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def documented_operations() -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_docs_file_is_the_served_document():
    """docs/openapi.yaml and what the server serves are the same document."""
    assert yaml.safe_load(DOCS.read_text()) == document()


def test_every_route_and_method_is_documented():
    """Each rule of the app's router has its methods in the document."""
    _app, rules = app_rules()
    operations = documented_operations()
    for rule in rules:
        prefix = rule.rule.split("<")[0].rstrip("/")
        documented = {
            method
            for path, method in operations
            if path == prefix or path.startswith(prefix + "/")
        }
        expected = set(rule.methods) - (
            AUTOMATIC - ({"HEAD"} if "HEAD" in documented else set())
        )
        if rule.endpoint.startswith("arango_job_api"):
            expected -= {"HEAD"}
        assert expected <= documented, (rule.rule, expected - documented)


def test_every_documented_operation_is_routed():
    """Each path and method of the document reaches a handler."""
    app, _rules = app_rules()
    adapter = app.url_map.bind("localhost")
    for path, method in documented_operations():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        try:
            adapter.match(concrete, method=method)
        except (NotFound, MethodNotAllowed) as error:
            pytest.fail(f"{method} {path} is documented but not routed ({error})")


async def test_the_document_is_served_as_json():
    """GET /_eventjobs/openapi.json answers the document."""
    app = create_app(Settings(journal=":memory:", shutdown_timeout=0))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/_eventjobs/openapi.json")
        assert response.status_code == 200
        assert await response.get_json() == document()


@pytest.mark.parametrize(
    "header",
    [
        "Idempotency-Key",
        "x-eventjobs-delay",
        "x-eventjobs-not-before",
        "x-eventjobs-priority",
        "x-eventjobs-concurrency-key",
        "x-eventjobs-retries",
        "x-eventjobs-retry-delay",
        "Prefer",
    ],
)
def test_every_submission_header_is_documented(header):
    """Each header a submission may carry is a parameter of the document."""
    names = {
        parameter["name"]
        for parameter in document()["components"]["parameters"].values()
        if parameter["in"] == "header"
    }
    assert header in names
    assert header in document()["info"]["description"]


def test_retry_after_and_preference_applied_are_documented():
    headers = document()["components"]["headers"]
    assert {"RetryAfter", "PreferenceApplied"} <= set(headers)
    for name in ("Retry-After", "Preference-Applied"):
        assert name in document()["info"]["description"]
