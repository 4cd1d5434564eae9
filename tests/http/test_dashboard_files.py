"""The dashboard's own files: served from the package, without credentials,
with a strict Content-Security-Policy, and written so that nothing a job
holds can run in the page."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from eventjobs.http.ui import CONTENT_SECURITY_POLICY, FILES
from tests.support import auth_settings, serve_app

STATIC = resources.files("eventjobs").joinpath("ui", "static")


def text_of(name: str) -> str:
    return STATIC.joinpath(name).read_text("utf-8")


@pytest.mark.parametrize("name", sorted(FILES))
async def test_each_file_is_served_with_its_type_and_policy(name):
    async with serve_app() as served:
        response = await served.client.get(f"/_eventjobs/ui/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == FILES[name]
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert await response.get_data() == STATIC.joinpath(name).read_bytes()


async def test_the_page_is_index_html():
    async with serve_app() as served:
        response = await served.client.get("/_eventjobs/ui")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert (await response.get_data()).decode() == text_of("index.html")


@pytest.mark.parametrize(
    "name", ["other.js", "..", "%2e%2e%2fopenapi.yaml", "index.html%00"]
)
async def test_nothing_else_is_served(name):
    async with serve_app() as served:
        response = await served.client.get(f"/_eventjobs/ui/static/{name}")
        assert response.status_code == 404


async def test_with_authentication_on_the_files_need_no_credentials_and_data_does(
    tmp_path,
):
    """The files hold no data; the page logs in and reads the API with a token."""
    async with serve_app(auth_settings(tmp_path)) as served:
        for path in [
            "/_eventjobs/ui",
            "/_eventjobs/ui/static/app.js",
            "/_db/_system/_eventjobs/ui",
        ]:
            assert (await served.client.get(path)).status_code == 200, path
        config = await served.client.get("/_eventjobs/ui/config.json")
        assert await config.get_json() == {"auth": True, "checkpoints": False}
        for path in [
            "/_eventjobs/jobs",
            "/_eventjobs/events?follow=false",
            "/_eventjobs/uix",
        ]:
            assert (await served.client.get(path)).status_code == 401, path


async def test_config_says_when_authentication_is_off():
    async with serve_app() as served:
        config = await served.client.get("/_eventjobs/ui/config.json")
        assert await config.get_json() == {"auth": False, "checkpoints": False}


def test_policy_allows_only_this_origin_and_no_inline_code():
    directives = dict(
        part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_the_page_fetches_nothing_from_elsewhere():
    """No URL of another origin in any file (the SVG namespace names, not fetches)."""
    for name in FILES:
        urls = set(
            re.findall(
                r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"')]*", text_of(name)
            )
        )
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)


def test_the_html_has_no_inline_script_style_or_handler():
    html = text_of("index.html")
    assert re.findall(r"<script(?![^>]*\ssrc=)", html) == []
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert "<style" not in html


def test_the_script_never_parses_html_or_evaluates_code():
    """The DOM is built from text: no sink that would interpret a job's data."""
    script = text_of("app.js")
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setAttribute('style'",
    ]:
        assert sink not in script, sink
