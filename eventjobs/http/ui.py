"""The dashboard's files: ``GET /_eventjobs/ui`` and ``/_eventjobs/ui/static/{name}``.

The dashboard is plain HTML, CSS and JavaScript shipped in the package
(``eventjobs/ui/static/``): no build step, nothing fetched from elsewhere.
These files hold no data, so they are served without credentials (see
:func:`eventjobs.http.paths.is_open`); the page then reads everything
through the API with the user's token, so it shows exactly what the API
would (the job API's ownership rules).

``GET /_eventjobs/ui/config.json`` tells the page whether to ask for a login:
``{"auth": true}`` when the server has a users file.

Every answer carries a strict Content-Security-Policy: scripts and styles
from these files only (no inline script, no ``eval``), requests to this
origin only, no framing; the script builds its DOM from text, never from
HTML strings, so what jobs hold (paths, owners, bodies) cannot run.
"""

from __future__ import annotations

import functools
from importlib import resources

from quart import Blueprint, Response, current_app

from .login import AUTHENTICATOR_KEY
from .responses import json_response, not_found

blueprint = Blueprint("ui", __name__)

#: The files the dashboard consists of, with their content types: nothing
#: else under the directory is served.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    # Small files, and a new version of the server must show its own page.
    "cache-control": "no-cache",
}


@functools.cache
def _read(name: str) -> bytes:
    return resources.files("eventjobs").joinpath("ui", "static", name).read_bytes()


def _file(name: str) -> Response:
    response = Response(_read(name), 200, content_type=FILES[name])
    response.headers.update(_SECURITY_HEADERS)
    return response


@blueprint.route("/_eventjobs/ui", methods=["GET"])
async def page() -> Response:
    return _file("index.html")


@blueprint.route("/_eventjobs/ui/static/<name>", methods=["GET"])
async def static_file(name: str) -> Response:
    if name not in FILES:
        return not_found()
    return _file(name)


@blueprint.route("/_eventjobs/ui/config.json", methods=["GET"])
async def config() -> Response:
    runtime = current_app.extensions.get("eventjobs")
    transparency = getattr(runtime, "transparency", None)
    response = json_response(
        {
            "auth": current_app.extensions.get(AUTHENTICATOR_KEY) is not None,
            # Whether job pages may ask for receipts (a server that signs
            # no checkpoint has none: asking would only log 404s).
            "checkpoints": getattr(transparency, "signer", None) is not None,
        }
    )
    response.headers.update(_SECURITY_HEADERS)
    return response
