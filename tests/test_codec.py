"""The codec: every event survives encoding, and decoding trusts nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventjobs.codec import (
    VERSION,
    decode_body,
    decode_event,
    encode_body,
    encode_event,
)
from eventjobs.errors import CodecError
from eventjobs.events import (
    EVENT_TYPES,
    JobDone,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
    type_name,
)
from tests.strategies import (
    EVENTS_BY_TYPE,
    any_text,
    bodies,
    done_events,
    events,
    headers,
)


def _leaf_paths(
    data: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every key path of *data*, nested objects included (not inside lists)."""
    paths = []
    for key, value in data.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(_leaf_paths(value, (*prefix, key)))
    return paths


def _parent(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path[:-1]:
        data = data[key]
    return data


def _done_data(**response_changes: Any) -> dict[str, Any]:
    data = encode_event(
        JobDone(job_id=1, time=1.5, response=RecordedResponse(status=200, body=b"\xff"))
    )
    data["response"].update(response_changes)
    return data


# -- round trips --------------------------------------------------------------


def test_every_event_type_has_a_strategy():
    """tests/strategies.py covers every registered event type."""
    assert set(EVENTS_BY_TYPE) == set(EVENT_TYPES)


@given(events)
def test_event_round_trips_through_its_dict(event):
    """decode_event(encode_event(e)) == e for every event."""
    assert decode_event(encode_event(event)) == event


@given(events)
def test_event_round_trips_through_json_text(event):
    """An event encoded, written as JSON text and parsed back is the same event."""
    text = json.dumps(encode_event(event))
    assert decode_event(json.loads(text)) == event


@given(events)
def test_encoded_event_names_its_type_version_and_job(event):
    """The dict carries the stable type name, the current version and the job id."""
    data = encode_event(event)
    assert (data["type"], data["v"], data["job"]) == (
        type_name(event),
        VERSION,
        event.job_id,
    )


@given(bodies)
def test_body_round_trips_exactly(body):
    """Any bytes body comes back byte for byte."""
    assert decode_body(json.loads(json.dumps(encode_body(body))), "body") == body


def test_utf8_body_is_stored_as_text():
    """A body that decodes as UTF-8 is stored as readable text."""
    assert encode_body("grüße".encode()) == {"encoding": "utf-8", "data": "grüße"}


def test_non_utf8_body_is_stored_as_base64():
    """A body that is not UTF-8 is stored as base64."""
    assert encode_body(b"\xff\x00") == {"encoding": "base64", "data": "/wA="}


@given(headers, any_text, any_text)
def test_arbitrary_header_strings_round_trip(header_pairs, method, path):
    """Header names and values, method and path of any text come back unchanged."""
    event = JobQueued(
        job_id=3,
        time=0.0,
        owner=None,
        store=True,
        request=RecordedRequest(method=method, path=path, headers=header_pairs),
    )
    assert decode_event(json.loads(json.dumps(encode_event(event)))) == event


# -- rejections ----------------------------------------------------------------


def test_decode_rejects_unknown_type():
    """An unregistered type name is refused, naming it."""
    with pytest.raises(CodecError, match="unknown event type 'exploded'"):
        decode_event({"type": "exploded", "v": 1, "job": 1, "time": 0.0})


OPTIONAL = {
    ("idempotency_key",),
    ("not_before",),
    ("priority",),
    # A schedule's firing (its schedule_time is required with it), and a
    # schedule's rule: one of cron and every, timezone only with cron.
    ("schedule",),
    ("cron",),
    ("every",),
    ("timezone",),
}


@given(events, st.data())
def test_decode_rejects_missing_field_naming_it(event, data):
    """Removing any field, nested ones included, is refused with its name in the message."""
    encoded = encode_event(event)
    # A queued event's shape fields are optional: absent is their default.
    required = [path for path in _leaf_paths(encoded) if path not in OPTIONAL]
    path = data.draw(st.sampled_from(required))
    del _parent(encoded, path)[path[-1]]
    with pytest.raises(CodecError, match=f"'{path[-1]}'"):
        decode_event(encoded)


@given(events, st.data())
def test_decode_rejects_field_of_wrong_type_naming_it(event, data):
    """A field holding a value of the wrong JSON type is refused with its name."""
    encoded = encode_event(event)
    path = data.draw(st.sampled_from(_leaf_paths(encoded)))
    parent = _parent(encoded, path)
    parent[path[-1]] = {} if isinstance(parent[path[-1]], list) else []
    with pytest.raises(CodecError, match=f"'{path[-1]}'"):
        decode_event(encoded)


def test_decode_rejects_boolean_job_id():
    """``true`` is not a job id, although Python's bool is an int."""
    with pytest.raises(CodecError, match="'job' must not be a boolean"):
        decode_event({"type": "started", "v": 1, "job": True, "time": 0.0})


def test_decode_rejects_job_id_zero():
    """Job ids are positive."""
    with pytest.raises(CodecError, match="not positive"):
        decode_event({"type": "started", "v": 1, "job": 0, "time": 0.0})


def test_decode_rejects_bad_base64():
    """A base64 body that is not base64 is refused."""
    with pytest.raises(CodecError, match="not valid base64"):
        decode_event(_done_data(body={"encoding": "base64", "data": "not base64!"}))


def test_decode_rejects_non_ascii_base64():
    """Non-ASCII text in a base64 body is refused as bad base64, not a crash."""
    with pytest.raises(CodecError, match="not valid base64"):
        decode_event(_done_data(body={"encoding": "base64", "data": "é==="}))


def test_decode_rejects_unknown_body_encoding():
    """Only ``utf-8`` and ``base64`` bodies are known."""
    with pytest.raises(CodecError, match="unknown body encoding 'rot13'"):
        decode_event(_done_data(body={"encoding": "rot13", "data": ""}))


def test_decode_rejects_status_outside_http_range():
    """A status that is not 100..599 is refused."""
    with pytest.raises(CodecError, match="status 600"):
        decode_event(_done_data(status=600))


def test_decode_rejects_header_that_is_not_a_pair():
    """A header must be a [name, value] pair of strings."""
    with pytest.raises(CodecError, match=r"\[name, value\] pair"):
        decode_event(_done_data(headers=[["content-type"]]))


@given(done_events, st.integers(min_value=VERSION + 1))
def test_decode_rejects_future_version(event, version):
    """A record written by a newer eventjobs is refused, not misread."""
    encoded = encode_event(event)
    encoded["v"] = version
    with pytest.raises(CodecError, match=f"version {version} is not known"):
        decode_event(encoded)


def test_decode_rejects_version_zero():
    """Versions start at 1."""
    with pytest.raises(CodecError, match="version 0 is not known"):
        decode_event({"type": "started", "v": 0, "job": 1, "time": 0.0})


@pytest.mark.parametrize("value", [[], "started", 7, None])
def test_decode_rejects_non_object(value):
    """Only a JSON object can be an event."""
    with pytest.raises(CodecError, match="must be a JSON object"):
        decode_event(value)


def test_decode_rejects_time_too_large_for_a_float():
    """An integer time beyond float range is refused as CodecError, not OverflowError."""
    with pytest.raises(CodecError, match="'time'"):
        decode_event({"type": "started", "v": 1, "job": 1, "time": 10**400})


def test_decode_gives_float_time_for_integer_time():
    """An integer time (as another writer may store it) decodes to the same float."""
    assert decode_event({"type": "started", "v": 1, "job": 2, "time": 5}) == JobStarted(
        job_id=2, time=5.0
    )


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_decode_rejects_non_finite_time(text):
    """``NaN`` and infinities (which Python's JSON parser accepts) are not times."""
    record = json.loads(f'{{"type": "started", "v": 1, "job": 1, "time": {text}}}')
    with pytest.raises(CodecError, match="'time'"):
        decode_event(record)


def test_decode_rejects_utf8_body_with_lone_surrogate():
    """A "utf-8" body holding a lone surrogate (valid JSON, not UTF-8) is a CodecError."""
    record = json.loads('{"encoding": "utf-8", "data": "\\ud800"}')
    with pytest.raises(CodecError):
        decode_event(_done_data(body=record))


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_decode_rejects_progress_fraction_outside_zero_to_one(fraction):
    """A progress fraction outside 0..1 is damage."""
    data = {
        "type": "progress",
        "v": 1,
        "job": 1,
        "time": 1.0,
        "fraction": fraction,
        "message": "",
    }
    with pytest.raises(CodecError, match="fraction"):
        decode_event(data)


def test_decode_rejects_negative_timeout():
    """A timed_out event with a negative limit is damage."""
    response = {"status": 504, "headers": [], "body": {"encoding": "utf-8", "data": ""}}
    data = {
        "type": "timed_out",
        "v": 1,
        "job": 1,
        "time": 1.0,
        "timeout": -1,
        "response": response,
    }
    with pytest.raises(CodecError, match="timeout"):
        decode_event(data)
