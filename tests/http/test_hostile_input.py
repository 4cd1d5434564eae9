"""A Hypothesis campaign of hostile requests against the in-process app.

Requests go straight to the app's ASGI callable with hand-made scopes (so
the test client's own checks do not soften them): random methods, paths
(unicode, percent-encoding, ``..``, very long, empty segments), query
strings, headers (any ``x-arango-async`` value, huge, duplicated, broken
credentials) and bodies. The property, with authentication off and on:
never a 500, never an error logged, and a valid request right after still
gets the right answer.

Time is trio's MockClock with autojump, so a hostile ``/_admin/sleep``
costs no real time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventjobs import Settings
from tests.support import (
    auth_settings,
    basic,
    serve_app,
    settle,
)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of *choices*, each as often as its weight says."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda index: pool[index])


CAMPAIGN = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

VALID_AUTH = basic("alice")["Authorization"].encode()

SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "_api",
            "job",
            "_admin",
            "_db",
            "_system",
            "..",
            ".",
            "",
            "all",
            "expired",
            "done",
            "pending",
            "cancel",
            "echo",
            "sleep",
            "version",
            "time",
            "collection",
            "_open",
            "auth",
            "_eventjobs",
            "openapi.json",
            "1",
            "0",
            "2",
            "18446744073709551616",
            "9" * 400,
            "%2F",
            "%00",
            "%",
            "%zz",
            "%C3%A9",
            "\u00e9",
            "\u2603",
            "\udcff",
            "\x00",
            " ",
            "?",
            "#",
            ";",
            "a" * 5000,
        ]
    ),
    st.text(max_size=12),
)

RANDOM_PATHS = st.lists(SEGMENTS, max_size=8).map(lambda parts: "/" + "/".join(parts))
DATABASE_PREFIXES = st.one_of(
    st.sampled_from(["", "/_db/_system", "/_db/other", "/_db/", "/_db/%2F"]),
    st.text(max_size=8).map(lambda name: "/_db/" + name),
)
ROUTES = st.sampled_from(
    [
        "/_api/job",
        "/_admin/job",
        "/_api/version",
        "/_admin/time",
        "/_api/collection",
        "/_admin/echo",
        "/_admin/sleep",
        "/_open/auth",
        "/_eventjobs/openapi.json",
    ]
)
TAILS = st.lists(SEGMENTS, max_size=3).map(
    lambda parts: "".join("/" + part for part in parts)
)
JOB_TAILS = st.sampled_from(
    [
        "",
        "/",
        "/done",
        "/pending",
        "/all",
        "/expired",
        "/1",
        "/1/cancel",
        "/1/x",
        "/a/b/c",
        "/0",
        "/abc",
        "/18446744073709551616",
        "/done/",
        "/\u0661",
        "/done",
        "/pending",
        "/expired",
    ]
)
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "",
            "-1",
            "1e9",
            "1e400",
            "nan",
            "inf",
            "-inf",
            "-0",
            "0x10",
            "\u0663",
            "1_000",
            " 1",
            "99999999999999999999999",
            "1" * 5000,
            "%00",
            "3601",
            "0.000001",
            "1.5",
        ]
    ),
    st.integers().map(str),
    st.floats().map(str),
    st.text(max_size=8),
)
NUMBER_QUERIES = st.tuples(
    st.sampled_from(["count", "stamp", "duration"]), NUMBERS
).map(lambda pair: f"{pair[0]}={quote(pair[1], errors='surrogateescape')}")
OTHER_QUERIES = st.one_of(
    st.sampled_from(
        ["", "count=1&count=2", "stamp=1&stamp=x", "count", "=", "&&", "%zz=%zz"]
    ),
    st.text(max_size=30),
)
# count, stamp and duration are the numbers handlers read (3 draws in 4);
# the rest is noise.
QUERIES = weighted((3, NUMBER_QUERIES), (1, OTHER_QUERIES))
# Paths at or near the real routes, where the handlers are, and some anywhere.
JOB_PATHS = st.tuples(
    DATABASE_PREFIXES, st.sampled_from(["/_api/job", "/_admin/job"]), JOB_TAILS
).map("".join)

PATHS = weighted(
    (5, JOB_PATHS),
    (2, st.tuples(DATABASE_PREFIXES, ROUTES).map("".join)),
    (1, st.tuples(DATABASE_PREFIXES, ROUTES, TAILS).map("".join)),
    (2, RANDOM_PATHS),
)

METHODS = weighted(
    (6, st.sampled_from(["GET", "PUT", "DELETE", "POST"])),
    (2, st.sampled_from(["PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"])),
    (1, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12)),
)

# Header values as HTTP can carry them: any byte but CR, LF and NUL.
HEADER_VALUES = st.one_of(
    st.binary(max_size=40).map(
        lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
    ),
    st.sampled_from(
        [b"store", b"true", b"Store", b"TRUE", b"", b"false", b"store ", b"x" * 70000]
    ),
)
HEADER_NAMES = st.one_of(
    st.sampled_from(
        [
            b"x-arango-async",
            b"authorization",
            b"cookie",
            b"content-type",
            b"x-arango-async-id",
            b"host",
            b"accept",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20).map(
        str.encode
    ),
)
# Half the requests carry valid credentials, so that with authentication on
# the handlers behind the 401 are reached too.
AUTHORIZATIONS = weighted(
    (1, st.just(VALID_AUTH)),
    (
        1,
        st.sampled_from(
            [
                None,
                b"Basic",
                b"Basic !!!!",
                b"basic Og==",
                b"Bearer",
                b"bearer a.b.c",
                b"Bearer eyJhbGciOiJub25lIn0.eyJ9.",
                b"Digest x",
                b"\xff\xfe",
                b"Basic " + b"A" * 10000,
            ]
        ),
    ),
)


@attrs.frozen
class Hostile:
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


@st.composite
def hostile_requests(draw: Any) -> Hostile:
    path = draw(PATHS)
    if draw(st.booleans()):
        # As a server receives it: an ASCII raw path, percent-decoded.
        raw = quote(path, safe="/%", errors="surrogateescape").encode("ascii")
        path = unquote(raw.decode("ascii"), errors="surrogateescape")
    else:
        raw = path.encode("utf-8", "surrogateescape")
    headers = list(draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=6)))
    authorization = draw(AUTHORIZATIONS)
    if authorization is not None:
        headers.append((b"authorization", authorization))
    if draw(st.booleans()):
        headers.append((b"x-arango-async", draw(st.sampled_from([b"store", b"true"]))))
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([b"{}", b'{"username":"alice"}', b"null"]),
        )
    )
    headers.append((b"content-length", str(len(body)).encode()))
    if draw(st.booleans()):
        headers = headers + headers  # every header duplicated
    return Hostile(
        draw(METHODS),
        path,
        raw,
        draw(QUERIES).encode("utf-8", "surrogateescape"),
        tuple(headers),
        body,
    )


async def call(app: Any, request: Hostile) -> tuple[int, bytes]:
    """Send *request* to the app's ASGI callable; its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.raw_path,
        "query_string": request.query,
        "root_path": "",
        "headers": list(request.headers),
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8529),
        "extensions": {},
    }
    answer: dict[str, Any] = {"status": None, "body": b""}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    assert answer["status"] is not None, "no response started"
    return answer["status"], answer["body"]


class ErrorLog(logging.Handler):
    """Keeps every record at ERROR or above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def errors_logged() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


VERSION = Hostile(
    "GET",
    "/_api/version",
    b"/_api/version",
    b"",
    ((b"authorization", VALID_AUTH),),
    b"",
)


def campaign(settings_: Settings, requests: list[Hostile]) -> None:
    async def main() -> None:
        async with serve_app(settings_) as served:
            app = served.app
            for request in requests:
                status, body = await call(app, request)
                assert status < 500 or status == 503, (request, status, body)
                if status == 503:
                    assert json.loads(body)["errorNum"] in (21003, 30), body
                await settle()
                status, body = await call(app, VERSION)
                assert status == 200 and json.loads(body)["server"] == "eventjobs", (
                    request,
                    status,
                    body,
                )
            # and the job machinery still works after it all
            submitted = attrs.evolve(
                VERSION, headers=(*VERSION.headers, (b"x-arango-async", b"store"))
            )
            status, _ = await call(app, submitted)
            assert status == 202

    with errors_logged() as log:
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert not log.records, [record.getMessage() for record in log.records]


@CAMPAIGN
@given(st.lists(hostile_requests(), min_size=1, max_size=6))
def test_hostile_requests_without_authentication(requests):
    """Auth off: no hostile request gets a 500 or logs an error, and the server goes on."""
    campaign(Settings(journal=":memory:", shutdown_timeout=0), requests)


@pytest.fixture(scope="module")
def auth_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("auth")


@CAMPAIGN
@given(st.lists(hostile_requests(), min_size=1, max_size=6))
def test_hostile_requests_with_authentication(auth_dir, requests):
    """Auth on: no hostile request gets a 500 or logs an error, and the server goes on."""
    campaign(auth_settings(auth_dir), requests)
