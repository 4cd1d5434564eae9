"""``POST /_open/auth``: trade a user name and password for a JWT (spec 5).

The body is ``{"username": ..., "password": ...}``; the answer
``{"jwt": "<token>"}``. A wrong name or password gets 401 errorNum 11, a body
of another shape 400 with a message saying what is expected. The async layer
lets this path through without credentials and never queues it, so the
password in the body is never journalled.

With authentication off every request is the superuser anyway; a token is
still issued (signed with a random per-start secret) so that clients
configured for JWT work unchanged.
"""

from __future__ import annotations

import json
import secrets

from quart import Blueprint, Response, current_app, request

from .. import tokens
from ..authentication import Authenticator
from ..results import ERROR_FORBIDDEN, ERROR_HTTP_BAD_PARAMETER
from ..runtime import Runtime
from .responses import error, json_response

blueprint = Blueprint("login", __name__)

AUTHENTICATOR_KEY = "eventjobs.authenticator"
_OPEN_SECRET_KEY = "eventjobs.open_secret"

_SHAPE = 'the body must be a JSON object {"username": <string>, "password": <string>}'


@blueprint.route("/_open/auth", methods=["POST"])
async def login() -> Response:
    body = await request.get_data(as_text=False)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return error(400, ERROR_HTTP_BAD_PARAMETER, f"{_SHAPE}; it is not JSON")
    username = document.get("username") if isinstance(document, dict) else None
    password = document.get("password", "") if isinstance(document, dict) else None
    if not isinstance(username, str) or not isinstance(password, str):
        return error(400, ERROR_HTTP_BAD_PARAMETER, _SHAPE)
    authenticator: Authenticator | None = current_app.extensions.get(AUTHENTICATOR_KEY)
    runtime: Runtime = current_app.extensions["eventjobs"]
    if authenticator is None:
        secret = current_app.extensions.setdefault(
            _OPEN_SECRET_KEY, secrets.token_bytes(32)
        )
        token = tokens.issue(
            secret,
            username,
            now=runtime.clock(),
            lifetime=runtime.settings.jwt_lifetime,
        )
    else:
        found = await authenticator.login(username, password)
        if found is None:
            return error(401, ERROR_FORBIDDEN, "not authorized to execute this request")
        token = found
    return json_response({"jwt": token})
