"""How bodies are stored: text while that is compact, base64 otherwise; the
journal holds any body in at most about 4/3 of its size."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventjobs.codec import (
    BODY_BLOCK,
    TEXT_SLACK,
    base64_json,
    body_encoding,
    decode_body,
    encode_body,
    text_json,
)

#: Bodies across the block size, with multi-byte characters cut by a block edge.
BIG_BODIES = {
    "zero bytes": b"\x00" * (BODY_BLOCK * 3 + 7),
    "random": os.urandom(BODY_BLOCK * 2 + 1),
    "plain text": b"plain text, nothing to escape. " * 20_000,
    "json": b'{"key": "value", "n": [1, 2, 3]}\n' * 20_000,
    "german": ("Grüße aus Köln, schöne Straße. " * 20_000).encode(),
    "chinese": ("事件溯源的作业服务器" * 40_000).encode(),
    "emoji cut at a block edge": b"a" * (BODY_BLOCK - 1) + "😀 ok".encode() * 3,
    "plain then invalid": b"a" * BODY_BLOCK + b"\xff",
    "cut character then plain": b"a" * (BODY_BLOCK - 1) + b"\xc3" + b"b" * BODY_BLOCK,
}


@pytest.mark.parametrize("body", BIG_BODIES.values(), ids=BIG_BODIES.keys())
def test_big_bodies_round_trip_within_the_size_bound(body):
    """Any body comes back byte for byte, and its JSON value is at most
    4/3 of it plus the slack (a body of zero bytes as text was 6 times)."""
    encoded = encode_body(body)
    spelled = json.dumps(encoded["data"])
    assert decode_body(json.loads(json.dumps(encoded)), "body") == body
    assert len(spelled) - 2 <= len(body) * 4 / 3 + 4 + TEXT_SLACK
    assert body_encoding(body) == (encoded["encoding"], len(spelled) - 2)


@pytest.mark.parametrize("body", BIG_BODIES.values(), ids=BIG_BODIES.keys())
def test_block_spellings_are_json_dumps(body):
    """The block-by-block spelling the journal writes is ``json.dumps``'s."""
    encoded = encode_body(body)
    blocks = text_json(body) if encoded["encoding"] == "utf-8" else base64_json(body)
    assert b"".join(blocks) == json.dumps(encoded["data"])[1:-1].encode("ascii")


@given(st.text(max_size=300))
def test_short_text_stays_readable_text(text):
    """Text a little longer escaped than base64 stays text: short answers
    and messages with accents are readable in the journal."""
    body = text.encode("utf-8", "surrogatepass")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return  # a lone surrogate is not UTF-8
    spelled = len(json.dumps(text)) - 2
    expected = (
        "utf-8" if spelled <= len(base64.b64encode(body)) + TEXT_SLACK else "base64"
    )
    assert encode_body(body)["encoding"] == expected


def test_mostly_non_ascii_text_is_base64():
    """Escaped, each of these characters takes 6 bytes for 3: base64 is smaller."""
    body = ("事件溯源" * 100).encode()
    assert encode_body(body) == {
        "encoding": "base64",
        "data": base64.b64encode(body).decode("ascii"),
    }


@pytest.mark.parametrize(
    "data, message",
    [
        ("QQ==QQ==", "not valid base64"),
        ("QQ=", "not valid base64"),
        ("=", "not valid base64"),
        ("é===", "not valid base64"),
    ],
)
def test_bad_base64_is_named(data, message):
    from eventjobs.errors import CodecError

    with pytest.raises(CodecError, match=message):
        decode_body({"encoding": "base64", "data": data}, "response body")
