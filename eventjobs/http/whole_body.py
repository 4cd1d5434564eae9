"""Reading a request body whole, and answering an ArangoDB error, for the
mounted apps that need the whole body first (WSGI apps, upstreams)."""

from __future__ import annotations

from typing import Any

from ..results import ERROR_REQUEST_TOO_LARGE, JSON_CONTENT_TYPE, error_body
from .asgi_call import Message


class ClientGone(Exception):
    """The client disconnected before it had sent the whole body."""


async def read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than *limit*.

    Raises:
        ClientGone: the client went away first (nobody is left to answer).
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def error_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", JSON_CONTENT_TYPE.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
    ]


async def send_error(send: Any, code: int, error_num: int, message: str) -> None:
    body = error_body(code, error_num, message)
    await send(
        {"type": "http.response.start", "status": code, "headers": error_headers(body)}
    )
    await send({"type": "http.response.body", "body": body})


async def send_too_large(send: Any, limit: int) -> None:
    await send_error(
        send,
        413,
        ERROR_REQUEST_TOO_LARGE,
        f"request body too large: at most {limit} bytes are accepted",
    )
