"""The lifecycle knows every kind of event, and its questions agree with
each other (tests for eventjobs/lifecycle.py; tests/test_projection.py and
tests/test_referee.py check the transitions through their users)."""

from __future__ import annotations

import attrs
import pytest

from eventjobs import lifecycle
from eventjobs.errors import IllegalTransition
from eventjobs.events import EVENT_TYPES, RecordedResponse
from eventjobs.lifecycle import FINISHED, QUEUED, RUNNING, Phase, transition
from tests.test_referee import event_of

KINDS = sorted(EVENT_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_event_has_a_rule(kind):
    """A new kind of event must be given its rule: from some phase it is
    legal, and its meaning is defined."""
    event = event_of(kind, 1)
    legal = []
    for phase in (None, *Phase):
        try:
            transition(phase, event, visible=True)
            legal.append(phase)
        except IllegalTransition:
            pass
    assert legal, f"{kind!r} follows no state"


@pytest.mark.parametrize("kind", KINDS)
def test_an_event_carries_a_result_exactly_when_it_ends_its_job(kind):
    event = event_of(kind, 1)
    response = getattr(event, "response", None)
    assert isinstance(response, RecordedResponse) == lifecycle.ends_job(event)
    assert lifecycle.result_of(event) is response
    assert lifecycle.stops_pending(event) == (
        lifecycle.ends_job(event) or lifecycle.hides_job(event)
    )


def test_the_events_that_end_a_job_and_those_that_hide_it():
    ending = {kind for kind in KINDS if lifecycle.ends_job(event_of(kind, 1))}
    hiding = {kind for kind in KINDS if lifecycle.hides_job(event_of(kind, 1))}
    assert ending == {"done", "cancelled", "interrupted", "timed_out"}
    assert hiding == {"fetched", "deleted", "schedule_removed"}


def test_a_schedule_lives_from_added_to_removed_and_is_never_a_pending_job():
    added = transition(None, event_of("schedule_added", 1))
    assert (added.phase, added.visible, added.holder_only) == (FINISHED, True, False)
    with pytest.raises(IllegalTransition, match="already in use"):
        transition(FINISHED, event_of("schedule_added", 1), visible=True)
    removed = transition(FINISHED, event_of("schedule_removed", 1), visible=True)
    assert removed.phase is None
    with pytest.raises(IllegalTransition):
        transition(None, event_of("schedule_removed", 1))
    assert lifecycle.is_schedule_event(event_of("schedule_removed", 1))
    assert not lifecycle.is_schedule_event(event_of("queued", 1))


def test_phase_values_are_the_stored_names():
    """Snapshots and the PostgreSQL journal store these: they never change."""
    assert [phase.value for phase in Phase] == ["queued", "running", "finished"]


def test_a_finished_job_that_is_not_visible_is_forgotten():
    fire_and_forget = transition(None, event_of("queued", 1, store=False))
    assert fire_and_forget.phase is QUEUED and not fire_and_forget.visible
    started = transition(QUEUED, event_of("started", 1), visible=False)
    assert started.phase is RUNNING
    assert transition(RUNNING, event_of("done", 1), visible=False).phase is None
    stored = transition(RUNNING, event_of("done", 1), visible=True)
    assert stored.phase is FINISHED and stored.visible
    assert transition(FINISHED, event_of("fetched", 1), visible=True).phase is None


def test_messages_name_the_job_and_the_reason():
    with pytest.raises(
        IllegalTransition, match=r"job 3: 'fetched' cannot follow phase 'running'"
    ):
        transition(RUNNING, event_of("fetched", 3), visible=True)
    with pytest.raises(
        IllegalTransition, match=r"job 3: 'started' for a job that is gone or unknown"
    ):
        transition(None, event_of("started", 3))
    with pytest.raises(
        IllegalTransition, match="already fetched or deleted, or is fire-and-forget"
    ):
        transition(QUEUED, event_of("deleted", 3), visible=False)
    with pytest.raises(IllegalTransition, match="recorded twice"):
        transition(RUNNING, event_of("cancelling", 3), visible=True, cancelling=True)
    with pytest.raises(IllegalTransition, match="queued twice"):
        transition(QUEUED, event_of("queued", 3))


def test_steps_are_values():
    step = transition(QUEUED, event_of("started", 1), visible=True)
    assert attrs.asdict(step) == {
        "phase": RUNNING,
        "visible": True,
        "cancelling": False,
        "holder_only": True,
    }
