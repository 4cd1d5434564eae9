"""Several nodes on one PostgreSQL journal: the transactions that referee them.

Blocking functions on a psycopg connection, run in worker threads by
:class:`~eventjobs.journal.pg_node.PostgresNodeJournal`. Every one that changes
what a job may do starts by locking the ``head`` row, like every append:
so appends, take-overs and the referee's state are serialised, and each sees
the others whole.

- :func:`append_judged`: a batch of events from one node. Each is judged
  against its job's state (:func:`eventjobs.referee.judge`); the admitted
  ones get the next sequence numbers (and a ``queued`` one a fresh job id)
  and are written, chained and sealed, with the new states, in one
  transaction; the rejected ones are not written. A ``queued`` whose owner
  used its ``Idempotency-Key`` within the window (on any node: the
  ``idempotency_keys`` table) is rejected with
  :class:`~eventjobs.referee.KeyTaken`, naming the first job. A node that was fenced
  (its lease ran out and another node took its jobs) has its whole batch
  refused: :class:`NodeFenced`.
- :func:`take_over`: fence every node whose lease has expired and move the
  jobs held by no live node to the caller, which then recovers them.
- :func:`register_node`, :func:`renew_lease`, :func:`release_node`: a node's
  row in ``nodes`` and its lease, timed by the database's clock (the nodes'
  clocks never need to agree).

``job_state`` follows the records: ``head.state_seq`` says up to where. An
append made without the referee (``eventjobs journal copy``, a journal
written by eventjobs before version 2) leaves it behind; the next judged
transaction folds the missing records in first (:func:`_bring_state_up`),
their jobs held by nobody (node 0) until a node takes them over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from ..errors import JournalCorrupt, NodeFenced
from ..events import Event, JobCancelling, JobQueued, ScheduleAdded
from ..referee import ANY_NODE, FINISHED, JobState, KeyTaken, Rejected, judge
from ._protocol import Judged, Recorded, TakenJob
from .pg_rows import copy_rows, encode_rows, parse_row, read_rows, row_name

if TYPE_CHECKING:
    import psycopg

    from .pg_url import PostgresLocation

__all__ = [
    "Judged",
    "TakenJob",
    "append_judged",
    "lost_lease",
    "register_node",
    "release_node",
    "renew_lease",
    "take_over",
]


def register_node(
    conn: psycopg.Connection, schema: str, name: str, lease: float
) -> int:
    """Add a node with a lease of *lease* seconds; return its id. Commits."""
    with conn.transaction():
        row = conn.execute(
            f"INSERT INTO {schema}.nodes (name, lease_expires) "
            "VALUES (%s, clock_timestamp() + make_interval(secs => %s)) RETURNING node_id",
            (name, lease),
        ).fetchone()
    assert row is not None
    return int(row[0])


def renew_lease(
    conn: psycopg.Connection, schema: str, node: int, lease: float
) -> float | None:
    """Extend the node's lease; return the database's clock then (unix
    seconds: the nodes' one clock, :mod:`eventjobs.actors.node_clock`), or
    None when it was fenced (or removed). Commits."""
    with conn.transaction():
        row = conn.execute(
            f"UPDATE {schema}.nodes SET lease_expires = clock_timestamp() "
            "+ make_interval(secs => %s) WHERE node_id = %s AND NOT fenced "
            "AND lease_expires > clock_timestamp() "
            "RETURNING extract(epoch FROM clock_timestamp())::float8",
            (lease, node),
        ).fetchone()
    return None if row is None else float(row[0])


def release_node(conn: psycopg.Connection, schema: str, node: int) -> None:
    """A node that stops cleanly gives up its lease at once, so that the
    jobs it leaves queued are taken over without waiting for it to expire."""
    with conn.transaction():
        _lock_head(conn, schema)
        conn.execute(
            f"UPDATE {schema}.nodes SET fenced = true, lease_expires = clock_timestamp() "
            "WHERE node_id = %s",
            (node,),
        )


def append_judged(
    conn: psycopg.Connection,
    location: PostgresLocation,
    channel: str,
    node: int,
    events: Sequence[Event],
    key_window: float,
) -> Judged:
    """Judge and append *events* from *node* in one transaction (see the
    module docstring); a ``queued`` event with job id 0 is given the next id.
    An ``Idempotency-Key`` first used more than *key_window* seconds before
    a ``queued`` carrying it may be used again.

    Raises:
        NodeFenced: *node* may not append any more; nothing was written.
        JournalCorrupt: the records do not follow the referee's rules.
    """
    schema = location.schema
    with conn.transaction():
        head, head_hash, state_seq, last_job_id = _lock_head(conn, schema)
        _check_live(conn, schema, node)
        if state_seq < head:
            last_job_id = _bring_state_up(
                conn, location, state_seq, head, last_job_id, key_window
            )
        job_ids = [event.job_id for event in events if event.job_id]
        states = _states(conn, schema, job_ids)
        changed: dict[int, JobState | None] = {}
        outcomes: list[Recorded | Rejected] = []
        admitted: list[Recorded] = []
        seq = head
        for event in events:
            if isinstance(event, JobQueued | ScheduleAdded) and event.job_id == 0:
                event = attrs.evolve(event, job_id=last_job_id + 1)
            job_id = event.job_id
            current = changed[job_id] if job_id in changed else states.get(job_id)
            try:
                state = judge(current, event, node)
                if isinstance(event, JobQueued) and event.idempotency_key is not None:
                    # Last: a key row is written only for a job that is.
                    _use_key(conn, schema, event, key_window, taken_by=True)
            except Rejected as rejected:
                outcomes.append(rejected)
                continue
            changed[job_id] = state
            if isinstance(event, JobQueued | ScheduleAdded):
                last_job_id = max(last_job_id, job_id)
            seq += 1
            record = Recorded(seq, event, location=seq)
            admitted.append(record)
            outcomes.append(record)
        rows, prev = encode_rows(admitted, head_hash, node)
        if rows:
            copy_rows(conn, schema, rows)
            _save_states(conn, schema, changed)
            conn.execute(
                f"UPDATE {schema}.head SET seq = %s, hash = %s, state_seq = %s, "
                "last_job_id = %s",
                (seq, prev, seq, last_job_id),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (channel, str(seq)))
    return Judged(outcomes, seq, prev)


def take_over(
    conn: psycopg.Connection,
    location: PostgresLocation,
    node: int,
    key_window: float,
) -> list[TakenJob]:
    """Fence every node whose lease has expired, and move to *node* every
    queued or running job that no live node holds; return those jobs.
    Forgets the idempotency keys first used more than *key_window* seconds ago.

    Raises:
        NodeFenced: *node* itself may not act any more.
    """
    schema = location.schema
    with conn.transaction():
        head, _hash, state_seq, last_job_id = _lock_head(conn, schema)
        _check_live(conn, schema, node)
        if state_seq < head:
            _bring_state_up(conn, location, state_seq, head, last_job_id, key_window)
        conn.execute(
            f"DELETE FROM {schema}.idempotency_keys "
            "WHERE used_at < extract(epoch FROM clock_timestamp()) - %s",
            (key_window,),
        )
        conn.execute(
            f"UPDATE {schema}.nodes SET fenced = true "
            "WHERE NOT fenced AND lease_expires <= clock_timestamp()"
        )
        # Fenced long ago and holding nothing: forgotten (a node that comes
        # back after that finds no row, which also means fenced).
        conn.execute(
            f"DELETE FROM {schema}.nodes WHERE fenced "
            "AND lease_expires < clock_timestamp() - interval '1 day'"
        )
        taken = conn.execute(
            f"UPDATE {schema}.job_state SET node_id = %s WHERE phase <> %s "
            f"AND node_id NOT IN (SELECT node_id FROM {schema}.nodes WHERE NOT fenced) "
            "RETURNING job_id, phase, cancelling",
            (node, FINISHED),
        ).fetchall()
        jobs = [
            TakenJob(int(job_id), phase, cancelling)
            for job_id, phase, cancelling in taken
        ]
        return [
            attrs.evolve(job, cancelled_by=_canceller(conn, location, job.job_id))
            if job.cancelling
            else job
            for job in sorted(jobs, key=lambda job: job.job_id)
        ]


def _lock_head(conn: psycopg.Connection, schema: str) -> tuple[int, str, int, int]:
    row = conn.execute(
        f"SELECT seq, hash, state_seq, last_job_id FROM {schema}.head FOR UPDATE"
    ).fetchone()
    if row is None:
        raise JournalCorrupt(
            f"the table {schema}.head has no row (it was emptied by hand)"
        )
    return int(row[0]), row[1], int(row[2]), int(row[3])


def _check_live(conn: psycopg.Connection, schema: str, node: int) -> None:
    row = conn.execute(
        f"SELECT fenced, lease_expires > clock_timestamp() FROM {schema}.nodes "
        "WHERE node_id = %s",
        (node,),
    ).fetchone()
    if row is None or row[0] or not row[1]:
        raise NodeFenced(lost_lease(conn, schema, node))


def lost_lease(conn: psycopg.Connection, schema: str, node: int) -> str:
    """The sentence a node that may not act any more stops with: what the
    ``nodes`` table says happened (fenced by another node's take-over, or
    only run out by the database's clock), and who holds its jobs now.

    Only a take-over by another node (or the node's own clean stop) sets
    ``fenced``, and that take-over moved every job the node held; a lease
    that merely ran out (a database outage longer than the lease) leaves
    the jobs with the node until some node looks."""
    row = conn.execute(
        f"SELECT fenced FROM {schema}.nodes WHERE node_id = %s", (node,)
    ).fetchone()
    start = f"this server (node {node} of the PostgreSQL journal in schema {schema!r}) lost its lease: "
    end = "; it records nothing more and stops (restart it to rejoin as a new node)"
    if row is None or row[0]:
        return (
            f"{start}it could not renew it in time (the process was stopped or starved, or "
            "cut off from the database), so another node found it expired, fenced it and "
            f"took over its jobs{end}"
        )
    held = conn.execute(
        f"SELECT count(*) FROM {schema}.job_state WHERE node_id = %s AND phase <> %s",
        (node, FINISHED),
    ).fetchone()
    count = int(held[0]) if held else 0
    return (
        f"{start}it ran out by the database's clock before the node could renew it (the "
        "database could not be reached for longer than the lease, or the process was "
        "stopped or starved); no other node has taken over its jobs "
        f"({count} unfinished still held by it: the next node to look takes them over){end}"
    )


def _use_key(
    conn: psycopg.Connection,
    schema: str,
    event: JobQueued,
    key_window: float,
    *,
    taken_by: bool,
) -> None:
    """Note *event*'s job as the first use of its owner's key, unless the
    key was used within *key_window* seconds before it (then, with
    *taken_by*, raise :class:`KeyTaken`; without, keep the first).

    Raises:
        KeyTaken: the key names another job still; nothing was changed.
    """
    key = event.idempotency_key
    assert key is not None
    owner = event.owner or ""
    row = conn.execute(
        f"INSERT INTO {schema}.idempotency_keys AS k (owner, key, job_id, used_at) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (owner, key) DO UPDATE SET "
        "job_id = excluded.job_id, used_at = excluded.used_at "
        "WHERE k.used_at < %s RETURNING job_id",
        (owner, key, event.job_id, event.time, event.time - key_window),
    ).fetchone()
    if row is not None or not taken_by:
        return
    first = conn.execute(
        f"SELECT job_id FROM {schema}.idempotency_keys WHERE owner = %s AND key = %s",
        (owner, key),
    ).fetchone()
    assert first is not None  # the conflict was with it, under the head lock
    raise KeyTaken(key, int(first[0]))


def _states(
    conn: psycopg.Connection, schema: str, job_ids: list[int]
) -> dict[int, JobState]:
    if not job_ids:
        return {}
    rows = conn.execute(
        f"SELECT job_id, phase, visible, node_id, cancelling FROM {schema}.job_state "
        "WHERE job_id = ANY(%s)",
        (sorted(set(job_ids)),),
    ).fetchall()
    return {int(row[0]): JobState(row[1], row[2], int(row[3]), row[4]) for row in rows}


def _save_states(
    conn: psycopg.Connection, schema: str, changed: dict[int, JobState | None]
) -> None:
    gone = [job_id for job_id, state in changed.items() if state is None]
    if gone:
        conn.execute(f"DELETE FROM {schema}.job_state WHERE job_id = ANY(%s)", (gone,))
    kept = [
        (job_id, state.phase, state.visible, state.node, state.cancelling)
        for job_id, state in changed.items()
        if state is not None
    ]
    if kept:
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {schema}.job_state AS s "
                "(job_id, phase, visible, node_id, cancelling) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (job_id) DO UPDATE SET phase = excluded.phase, "
                "visible = excluded.visible, node_id = excluded.node_id, "
                "cancelling = excluded.cancelling",
                kept,
            )


def _bring_state_up(
    conn: psycopg.Connection,
    location: PostgresLocation,
    state_seq: int,
    head: int,
    last_job_id: int,
    key_window: float,
) -> int:
    """Fold the records after ``state_seq`` into ``job_state`` (their jobs
    held by no node) and their keys into ``idempotency_keys``; return the
    last job id. Inside the caller's transaction."""
    schema = location.schema
    changed: dict[int, JobState | None] = {}
    states: dict[int, JobState] = {}
    for record in read_rows(conn, location, after=state_seq):
        event = record.event
        if event.job_id not in changed and event.job_id not in states:
            states.update(_states(conn, schema, [event.job_id]))
        current = (
            changed[event.job_id]
            if event.job_id in changed
            else states.get(event.job_id)
        )
        try:
            changed[event.job_id] = judge(current, event, ANY_NODE)
        except Rejected as error:
            raise JournalCorrupt(
                f"{location}, table {schema}.records, row seq={record.seq}: the event does "
                f"not follow from the job's state ({error})"
            ) from None
        if isinstance(event, JobQueued | ScheduleAdded):
            last_job_id = max(last_job_id, event.job_id)
        if isinstance(event, JobQueued) and event.idempotency_key is not None:
            # Written without the referee: two jobs may share a key; the
            # first stays the key's, as in the projection.
            _use_key(conn, schema, event, key_window, taken_by=False)
    _save_states(conn, schema, changed)
    conn.execute(
        f"UPDATE {schema}.head SET state_seq = %s, last_job_id = %s",
        (head, last_job_id),
    )
    return last_job_id


def _canceller(
    conn: psycopg.Connection, location: PostgresLocation, job_id: int
) -> str | None:
    """Who asked a running job to stop: its ``cancelling`` event's ``by``."""
    row = conn.execute(
        f"SELECT seq, line FROM {location.schema}.records WHERE job_id = %s "
        "AND type = 'cancelling' ORDER BY seq DESC LIMIT 1",
        (job_id,),
    ).fetchone()
    if row is None:
        return None
    seq = int(row[0])
    record, _digest = parse_row(row[1], row_name(location, seq), seq, None)
    event = record.event
    return event.by if isinstance(event, JobCancelling) else None
