"""``GET /_eventjobs/events``: the caller's job events, live, as NDJSON.

What the dashboard listens to so that it changes without reloading. Each
line is one JSON object:

- first ``{"type": "hello", "seq": N}``: the stream is open and N is the
  table's position; anything after it comes as a line;
- then one line per event of a job the caller may see, once it is durable:
  ``{"seq", "type", "job", "time"}`` plus, for ``progress``, ``fraction`` and
  ``message`` (the journal's names; never a request or a result);
- ``{"type": "heartbeat", "seq": N}`` after every ``HEARTBEAT_SECONDS``
  without events, so that proxies keep the connection and a client can
  tell a quiet server from a dead connection;
- ``{"type": "overflow", "seq": N}`` when the client fell more than
  ``BUFFER`` events behind: some were dropped, reload everything;
- ``{"type": "closed", "reason": ...}``, then the end of the stream, when
  its credentials no longer prove the same caller (user removed, rights
  changed, token expired: :mod:`.reauth`, checked every
  ``RECHECK_SECONDS``); sign in again.

Ownership is the job API's (spec 5): a superuser gets every event; another
user only the events of their own jobs, including those that remove a job
(``fetched``, ``deleted``), which the table no longer holds by then; so each
stream remembers which of the jobs in flight are the caller's.

``?follow=false`` answers the ``hello`` line only and ends (a probe; also
what keeps generated-request tests finite). Events come from the runtime's
observers (:meth:`Jobs.add_observer`), not from the journal: a stream
costs nothing while nothing happens and reads no file. They arrive once
their record is durable, so a stream never shows an event the journal lost
(a submission answered 503); an event recorded before the ``hello`` but
durable only after it comes as a line whose ``seq`` is not above the
``hello``'s.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import trio
from quart import Blueprint, Quart, Response, current_app, request

from ..events import Event, JobProgressed, JobQueued, type_name
from ..identity import Caller
from ..lifecycle import hides_job
from ..records import Recorded
from ..runtime import Runtime
from .context import current_caller
from .reauth import credential_check
from .responses import bad_parameter, shown

blueprint = Blueprint("live", __name__)

#: Events a stream holds for a client that is slow to read; past that it says
#: ``overflow`` and drops them (the client reloads).
BUFFER = 1000
HEARTBEAT_SECONDS = 15.0
CLOSED_REASON = (
    "these credentials no longer hold (user removed, rights changed or token expired)"
)
_FEED_KEY = "eventjobs.live_feed"


class Subscription:
    """One stream's view of the feed: the events its caller may see.

    Lines wait in ``receive`` (a trio channel of at most ``BUFFER``);
    ``overflowed`` is set when one had to be dropped since it was cleared.
    """

    def __init__(self, caller: Caller, runtime: Runtime) -> None:
        self.caller = caller
        self.send, self.receive = trio.open_memory_channel[dict[str, Any]](BUFFER)
        self.overflowed = False
        #: For a non-superuser: ids of their jobs still in flight.
        self.mine: set[int] = (
            set() if caller.superuser else runtime.jobs.owned_ids(caller)
        )

    def offer(self, seq: int, event: Event) -> None:
        if not self._sees(event):
            return
        line: dict[str, Any] = {
            "seq": seq,
            "type": type_name(event),
            "job": event.job_id,
            "time": event.time,
        }
        if isinstance(event, JobProgressed):
            line["fraction"] = event.fraction
            line["message"] = event.message
        try:
            self.send.send_nowait(line)
        except trio.WouldBlock:
            self.overflowed = True

    def _sees(self, event: Event) -> bool:
        if self.caller.superuser:
            return True
        if isinstance(event, JobQueued):
            if event.owner == self.caller.name:
                self.mine.add(event.job_id)
                return True
            # The id may have been the caller's in the table when this stream
            # began, in a batch that was then lost: it is someone else's now.
            self.mine.discard(event.job_id)
            return False
        if event.job_id not in self.mine:
            return False
        if hides_job(event):
            # Gone from the caller's view: nothing of it is shown again.
            self.mine.discard(event.job_id)
        return True


class LiveFeed:
    """Hands each recorded event to the open streams (one feed per app)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._subscriptions: set[Subscription] = set()
        runtime.jobs.add_observer(self._observe)

    def _observe(self, record: Recorded) -> None:
        for subscription in self._subscriptions:
            subscription.offer(record.seq, record.event)

    @property
    def open_streams(self) -> int:
        """How many streams are open now."""
        return len(self._subscriptions)

    def subscribe(self, caller: Caller) -> Subscription:
        subscription = Subscription(caller, self._runtime)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)


def feed_of(app: Quart) -> LiveFeed:
    """The app's feed, made (and attached to its runtime) when first asked for."""
    feed: LiveFeed | None = app.extensions.get(_FEED_KEY)
    if feed is None:
        feed = app.extensions[_FEED_KEY] = LiveFeed(app.extensions["eventjobs"])
    return feed


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode() + b"\n"


@blueprint.route("/_eventjobs/events", methods=["GET"])
async def events() -> Response:
    follow_text = request.args.get("follow", "true")
    if follow_text not in ("true", "false"):
        return bad_parameter(f"follow must be true or false, not {shown(follow_text)}")
    caller = current_caller()
    credentials = credential_check()
    feed = feed_of(current_app)
    runtime: Runtime = current_app.extensions["eventjobs"]

    async def lines() -> AsyncIterator[bytes]:
        # Subscribed inside the generator, so that a response never iterated
        # leaves nothing behind; the finally runs when the client goes away
        # (the server cancels the iteration).
        subscription = feed.subscribe(caller)
        try:
            yield _line({"type": "hello", "seq": runtime.jobs.position})
            if follow_text == "false":
                return
            while True:
                chunk: list[bytes] = []
                with trio.move_on_after(HEARTBEAT_SECONDS):
                    chunk.append(_line(await subscription.receive.receive()))
                # Whatever else is waiting goes in the same write.
                while True:
                    try:
                        chunk.append(_line(subscription.receive.receive_nowait()))
                    except trio.WouldBlock:
                        break
                if subscription.overflowed:
                    subscription.overflowed = False
                    chunk.append(
                        _line({"type": "overflow", "seq": runtime.jobs.position})
                    )
                if not chunk:
                    chunk.append(
                        _line({"type": "heartbeat", "seq": runtime.jobs.position})
                    )
                if not await credentials.still_valid():
                    # Nothing more for whoever these credentials were.
                    yield _line({"type": "closed", "reason": CLOSED_REASON})
                    return
                yield b"".join(chunk)
        finally:
            feed.unsubscribe(subscription)

    response = Response(lines(), 200, content_type="application/x-ndjson")
    # Proxies must pass lines on as they come (nginx buffers otherwise).
    response.headers["cache-control"] = "no-cache"
    response.headers["x-accel-buffering"] = "no"
    response.timeout = None  # Quart's 60 s response timeout would cut the stream
    return response
