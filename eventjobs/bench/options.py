"""Option types shared by the harness's commands: a bad value is one precise
sentence from argparse (exit status 2), never a traceback."""

from __future__ import annotations

import argparse


def at_least_one(text: str) -> int:
    """A whole number of at least 1 (a count of runs, samples, records...)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"takes a whole number of at least 1, not {text!r}"
        )
    return value


def positive_seconds(text: str) -> float:
    """A duration in seconds, greater than 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"takes a number of seconds above 0, not {text!r}"
        )
    return value
