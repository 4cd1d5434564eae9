"""``GET /_eventjobs/openapi.json``: the OpenAPI document of this server.

The document is written by hand in YAML (``eventjobs/openapi.yaml``, linked
from ``docs/openapi.yaml``) and served as JSON; a test keeps it true to the
app's routes. It is read once, when first asked for.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml
from quart import Blueprint, Response

from .responses import json_response

blueprint = Blueprint("openapi", __name__)


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI document as a JSON-ready dict."""
    text = resources.files("eventjobs").joinpath("openapi.yaml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


@blueprint.route("/_eventjobs/openapi.json", methods=["GET"])
async def openapi() -> Response:
    return json_response(document())
