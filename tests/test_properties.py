"""The invariants of design.md, checked on random API sessions against the real app.

Each example runs a random program of API calls (submissions of quick jobs,
status, fetch, cancel, deletes, lists, the passing of time, groups of calls
made concurrently, and restarts of the server on the same journal) against
the in-process app, on a MemoryJournal and on a FileJournal. Time is trio's
MockClock, moved only by the program's ``wait`` steps, so sleep jobs finish
exactly when the program says (on the memory journal every run is fully
deterministic; the file journal adds real worker threads).

After every step the app is let run until all its tasks are blocked, and the
live job table and the journal head are captured; the tests then check the
captured trace.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventjobs import Settings
from eventjobs.events import JobQueued
from eventjobs.journal import FileJournal, Journal, MemoryJournal, Recorded
from eventjobs.projection import JobTable, JobView, fold
from tests.support import FakeClock, Served, serve_app, settle

#: Every property is checked on both journal backends: the memory journal
#: appends inline, the file journal in a worker thread (so a 202 sent before
#: its append finished would show).
BACKENDS = pytest.mark.parametrize("backend", ["memory", "file"])

SETTINGS = Settings(journal=":memory:", max_queued=4, max_running=2, shutdown_timeout=0)

PROPERTY_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- programs ----------------------------------------------------------------------


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of *choices*, each as often as its weight says.

    (``st.one_of`` drops repeated strategies, so repeating one does not
    weight it.)
    """
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


#: Which job a call names: ``("recent", k)`` is the k-th most recently
#: accepted stored job (so calls mostly hit real jobs), ``("id", n)`` a literal
#: id (maybe unknown, maybe a fire-and-forget job's).
job_refs = weighted(
    (3, st.tuples(st.just("recent"), st.integers(min_value=0, max_value=3))),
    (1, st.tuples(st.just("id"), st.integers(min_value=1, max_value=12))),
)

echo_submissions = st.tuples(
    st.just("submit_echo"),
    st.sampled_from(["store", "store", "store", "true"]),
    st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    st.binary(max_size=8),
)

sleep_submissions = st.tuples(
    st.just("submit_sleep"),
    st.sampled_from(["store", "store", "store", "true"]),
    st.sampled_from(["0", "0.5", "1", "2.5", "5", "nonsense"]),
)

submissions = weighted((1, echo_submissions), (2, sleep_submissions))

job_calls = st.one_of(
    st.tuples(st.just("status"), job_refs),
    st.tuples(st.just("fetch"), job_refs),
    st.tuples(st.just("cancel"), job_refs),
    st.tuples(st.just("delete"), job_refs),
)

listings = st.tuples(
    st.just("list"),
    st.sampled_from(["done", "pending"]),
    st.sampled_from([None, 0, 1, 3]),
)

table_calls = weighted(
    (3, listings),
    (
        2,
        st.tuples(
            st.just("delete_expired"),
            st.sampled_from([-3.0, -0.5, 0.0, 0.25, 1.0, 3.0]),
        ),
    ),
    (1, st.tuples(st.just("delete_all"))),
)

api_steps = weighted((4, submissions), (4, job_calls), (1, table_calls))

steps = weighted(
    (8, api_steps),
    (2, st.tuples(st.just("wait"), st.sampled_from([0.25, 1.0, 3.0, 10.0, 10.0]))),
    # Calls in flight at once: the same call on the same job twice (two
    # fetches of one result, a double cancel, ...), or a mix.
    (3, st.tuples(st.just("together"), job_calls.map(lambda call: (call, call)))),
    (
        1,
        st.tuples(
            st.just("together"), st.lists(api_steps, min_size=2, max_size=3).map(tuple)
        ),
    ),
    # Shut the server down and start a new one on the same journal.
    (1, st.tuples(st.just("restart"))),
)

programs = st.lists(steps, min_size=6, max_size=40)


# -- the trace of a run -----------------------------------------------------------


@attrs.frozen
class Snapshot:
    """The live table (copied) and the journal head at one quiet moment."""

    head: int
    jobs: dict[int, JobView]
    last_job_id: int
    position: int
    queued_count: int
    running_count: int

    @classmethod
    def of(cls, table: JobTable, head: int) -> Snapshot:
        # JobViews are frozen, so a shallow copy of the dict is a true snapshot.
        return cls(
            head,
            dict(table.jobs),
            table.last_job_id,
            table.position,
            table.queued_count,
            table.running_count,
        )

    def matches(self, table: JobTable) -> bool:
        return (
            self.jobs,
            self.last_job_id,
            self.position,
            self.queued_count,
            self.running_count,
        ) == (
            table.jobs,
            table.last_job_id,
            table.position,
            table.queued_count,
            table.running_count,
        )


@attrs.define
class Answer:
    step: tuple[Any, ...]
    status: int
    headers: dict[str, str]
    body: bytes
    #: Only for submissions answered 202: was the `queued` record in the
    #: journal when the answer arrived? (For fire-and-forget, which has no
    #: id: did the journal hold at least as many `store: false` records as
    #: fire-and-forget 202s had arrived?)
    queued_in_journal: bool | None = None


@attrs.define
class Trace:
    snapshots: list[Snapshot] = attrs.Factory(list)
    answers: list[Answer] = attrs.Factory(list)
    records: list[Recorded] = attrs.Factory(list)
    #: Fire-and-forget submissions answered 202 so far.
    forgotten_accepted: int = 0
    #: Ids answered 202 to stored submissions, in the order the answers came.
    accepted_ids: list[int] = attrs.Factory(list)

    def resolve(self, ref: tuple[str, int]) -> int:
        kind, number = ref
        if kind == "id":
            return number
        if not self.accepted_ids:
            return number + 1
        return self.accepted_ids[-1 - number % len(self.accepted_ids)]


# -- running a program ------------------------------------------------------------------


def run(program: list[tuple[Any, ...]], backend: str = "memory") -> Trace:
    """Run *program* against a fresh app on a *backend* journal.

    The app's own errors (a crashed supervisor or writer) propagate.
    """
    clock = trio.testing.MockClock()
    if backend == "memory":
        return trio.run(_run, program, clock, MemoryJournal(), clock=clock)
    with tempfile.TemporaryDirectory() as directory:
        journal = FileJournal.open(directory)
        try:
            return trio.run(_run, program, clock, journal, clock=clock)
        finally:
            trio.run(journal.aclose)


async def quiesce(served: Served) -> None:
    """Wait until every task is blocked and everything recorded is in the journal.

    A file journal appends in a worker thread, during which all tasks count
    as blocked: wait for the head to catch up, then settle again.
    """
    await settle()
    while served.journal.head < served.runtime.table.position:
        await trio.lowlevel.checkpoint()
        await settle()


async def _run(
    program: list[tuple[Any, ...]], clock: trio.testing.MockClock, journal: Journal
) -> Trace:
    trace = Trace()
    fake = FakeClock()
    remaining = list(program)
    while True:
        # One server life: until the program ends or says "restart".
        async with serve_app(SETTINGS, clock=fake, journal=journal) as served:
            await quiesce(served)
            trace.snapshots.append(
                Snapshot.of(served.runtime.table, served.journal.head)
            )
            while remaining and remaining[0][0] != "restart":
                await _step(served, remaining.pop(0), clock, trace)
                await quiesce(served)
                trace.snapshots.append(
                    Snapshot.of(served.runtime.table, served.journal.head)
                )
        # After shutdown (running jobs interrupted at once: shutdown_timeout=0).
        trace.snapshots.append(Snapshot.of(served.runtime.table, served.journal.head))
        if not remaining:
            break
        remaining.pop(0)
    trace.records = list(journal.read())
    return trace


async def _step(
    served: Served, step: tuple[Any, ...], clock: trio.testing.MockClock, trace: Trace
) -> None:
    if step[0] == "wait":
        clock.jump(step[1])
        served.clock.advance(step[1])
    elif step[0] == "together":
        async with trio.open_nursery() as nursery:
            for inner in step[1]:
                nursery.start_soon(_call, served, inner, trace)
    else:
        await _call(served, step, trace)


def _durable_queued(served: Served) -> list[JobQueued]:
    """The `queued` events durable in the journal right now.

    Reads only up to the head: a file journal may be appending the next
    batch in a worker thread at this moment, and that tail is not durable.
    """
    return [
        record.event
        for record in itertools.islice(served.journal.read(), served.journal.head)
        if isinstance(record.event, JobQueued)
    ]


async def _call(served: Served, step: tuple[Any, ...], trace: Trace) -> None:
    client = served.client
    kind = step[0]
    if kind == "submit_echo":
        _, mode, method, body = step
        response = await client.open(
            "/_admin/echo", method=method, headers={"x-arango-async": mode}, data=body
        )
    elif kind == "submit_sleep":
        _, mode, duration = step
        response = await client.open(
            f"/_admin/sleep?duration={duration}",
            method="GET",
            headers={"x-arango-async": mode},
        )
    elif kind == "status":
        response = await client.get(f"/_api/job/{trace.resolve(step[1])}")
    elif kind == "fetch":
        response = await client.put(f"/_api/job/{trace.resolve(step[1])}")
    elif kind == "cancel":
        response = await client.put(f"/_api/job/{trace.resolve(step[1])}/cancel")
    elif kind == "delete":
        response = await client.delete(f"/_api/job/{trace.resolve(step[1])}")
    elif kind == "delete_all":
        response = await client.delete("/_api/job/all")
    elif kind == "delete_expired":
        response = await client.delete(
            f"/_api/job/expired?stamp={served.clock.now + step[1]!r}"
        )
    elif kind == "list":
        _, which, count = step
        query = "" if count is None else f"?count={count}"
        response = await client.get(f"/_api/job/{which}{query}")
    else:
        raise AssertionError(f"unknown step {step!r}")
    answer = Answer(
        step, response.status_code, dict(response.headers), await response.get_data()
    )
    if kind.startswith("submit") and response.status_code == 202:
        # Checked the moment the 202 arrives, before anything else runs.
        if step[1] == "store":
            job_id = int(answer.headers["x-arango-async-id"])
            answer.queued_in_journal = any(
                event.job_id == job_id for event in _durable_queued(served)
            )
            trace.accepted_ids.append(job_id)
        else:
            assert "x-arango-async-id" not in answer.headers, answer
            trace.forgotten_accepted += 1
            forgotten = [event for event in _durable_queued(served) if not event.store]
            answer.queued_in_journal = len(forgotten) >= trace.forgotten_accepted
    trace.answers.append(answer)


# -- the invariants ---------------------------------------------------------------------


def _check_answer(answer: Answer) -> None:
    """The answer is one the spec allows for that call (never a 5xx of our own)."""
    kind = answer.step[0]
    status = answer.status
    if kind.startswith("submit"):
        if status == 503:
            assert json.loads(answer.body)["errorNum"] == 21003, answer
        else:
            assert status == 202, answer
    elif kind == "status":
        assert status in (200, 204, 404), answer
    elif kind == "fetch":
        assert status in (204, 404) or "x-arango-async-id" in answer.headers, answer
    elif kind in ("cancel", "delete"):
        assert status in (200, 404), answer
    elif kind in ("delete_all", "delete_expired"):
        assert status == 200, answer
    elif kind == "list":
        assert status == 200, answer
        ids = json.loads(answer.body)
        assert all(isinstance(job_id, str) for job_id in ids), answer


@BACKENDS
@PROPERTY_SETTINGS
@given(programs)
def test_replaying_any_journal_prefix_gives_the_live_table(backend, program):
    """Folding the journal up to the head seen at any quiet moment gives the live table then."""
    trace = run(program, backend)
    for snapshot in trace.snapshots:
        replayed = fold(trace.records[: snapshot.head])
        assert snapshot.matches(replayed), (snapshot, replayed)


@BACKENDS
@PROPERTY_SETTINGS
@given(programs)
def test_no_api_sequence_produces_an_illegal_transition(backend, program):
    """No program makes the app crash, answer a 5xx of its own, or journal an illegal event."""
    trace = run(
        program, backend
    )  # an IllegalTransition inside the app would propagate here
    for answer in trace.answers:
        _check_answer(answer)
    fold(trace.records)


@BACKENDS
@PROPERTY_SETTINGS
@given(programs)
def test_a_result_is_handed_out_at_most_once(backend, program):
    """No job id is answered with its stored result (x-arango-async-id) more than once."""
    trace = run(program, backend)
    handed_out = [
        answer.headers["x-arango-async-id"]
        for answer in trace.answers
        if "x-arango-async-id" in answer.headers and answer.step[0] == "fetch"
    ]
    assert len(handed_out) == len(set(handed_out)), handed_out


@BACKENDS
@PROPERTY_SETTINGS
@given(programs)
def test_every_202_has_a_queued_record_in_the_journal(backend, program):
    """Every 202 (with or without an id) has its `queued` record in the journal when it arrives."""
    trace = run(program, backend)
    accepted = [
        answer for answer in trace.answers if answer.queued_in_journal is not None
    ]
    assert all(answer.queued_in_journal for answer in accepted), accepted


@BACKENDS
@PROPERTY_SETTINGS
@given(programs)
def test_job_ids_are_never_reused(backend, program):
    """No two 202s carry the same x-arango-async-id, restarts included."""
    trace = run(program, backend)
    assert len(trace.accepted_ids) == len(set(trace.accepted_ids)), trace.accepted_ids
