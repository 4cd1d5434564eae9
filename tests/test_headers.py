"""Reading the values of the headers eventjobs adds."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from eventjobs.headers import (
    BadHeader,
    job_timeout,
    parse_progress,
    parse_seconds,
    progress_value,
)


@pytest.mark.parametrize(
    ("text", "seconds"), [("5", 5.0), ("0.25", 0.25), (".5", 0.5), (" 3 ", 3.0)]
)
def test_plain_decimal_numbers_are_seconds(text, seconds):
    """Plain decimal numbers read as seconds."""
    assert parse_seconds(text, allow_zero=False) == seconds


@pytest.mark.parametrize(
    "text", ["", "x", "-1", "+1", "1e3", "inf", "nan", "1,5", "0x10"]
)
def test_anything_else_is_a_bad_header(text):
    """Signs, exponents, words and the like are refused."""
    with pytest.raises(BadHeader):
        parse_seconds(text, allow_zero=True)


def test_zero_is_refused_unless_allowed():
    """0 is a usable wait but not a usable timeout."""
    assert parse_seconds("0", allow_zero=True) == 0
    with pytest.raises(BadHeader):
        parse_seconds("0", allow_zero=False)


def test_timeout_header_wins_over_the_default():
    """A request's own timeout overrides the server default."""
    assert job_timeout([("x-eventjobs-timeout", "3")], default=10.0) == 3.0


def test_default_timeout_applies_without_the_header():
    """Without the header the server default is the limit; 0 means none."""
    assert job_timeout([("host", "x")], default=10.0) == 10.0
    assert job_timeout([], default=0.0) is None


def test_progress_value_percent_encodes_the_message():
    """Any message fits in the header: it is percent-encoded UTF-8."""
    value = progress_value(0.5, 'größe "x"\r\n')
    assert value.isascii() and "\n" not in value
    assert unquote(value) == '0.5; message="größe "x"\r\n"'


@pytest.mark.parametrize(
    ("fraction", "message"),
    [(0.0, ""), (0.5, 'größe "x"\r\n'), (1.0, "page 3 of 4; 75%"), (0.123456, "a=b")],
)
def test_parse_progress_reads_back_what_progress_value_writes(fraction, message):
    """The client reads the header the server writes (fraction to 4 digits)."""
    read = parse_progress(progress_value(fraction, message))
    assert read is not None
    assert read[0] == pytest.approx(fraction, abs=1e-4)
    assert read[1] == message


@pytest.mark.parametrize(
    "value", ["", "0.5", 'half; message="x"', '2; message="x"', '0.5; m="x"']
)
def test_parse_progress_refuses_other_forms(value):
    """Anything else is "no progress known", never an error."""
    assert parse_progress(value) is None
