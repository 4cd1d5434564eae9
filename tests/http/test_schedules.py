"""Recurring schedules: ``/_eventjobs/schedules`` fires ordinary stored jobs
at the right times, catches up after downtime as ``catch_up`` says, keeps
schedules per owner, and refuses bad documents with ArangoDB-style 400s.

Time is trio's MockClock and the server's wall clock is read from it
(:class:`tests.http.test_delays.TrioWallClock`): a day of firings takes no
real time."""

from __future__ import annotations

from datetime import datetime, UTC

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued, ScheduleAdded, ScheduleRemoved
from tests.http.conftest import add_test_routes
from tests.http.test_delays import TrioWallClock
from tests.support import auth_settings, basic, serve_app, settle

#: EPOCH is 2023-11-14T22:13:20Z: the next whole five minutes is 22:15.
FIVE_MINUTES_AFTER_EPOCH = datetime(2023, 11, 14, 22, 15, tzinfo=UTC).timestamp()
REQUEST = {"method": "POST", "path": "/test/bytes", "body": "tick"}


def fired(served) -> list[JobQueued]:
    return [
        r.event
        for r in served.journal.read()
        if isinstance(r.event, JobQueued) and r.event.schedule is not None
    ]


class Firings:
    """Counts the firings that became durable, and wakes who waits for a count
    (an observer of the runtime: no polling)."""

    def __init__(self, served) -> None:
        self.count = 0
        self._wanted: tuple[int, trio.Event] | None = None
        served.runtime.jobs.add_observer(self._seen)

    def _seen(self, record) -> None:
        if isinstance(record.event, JobQueued) and record.event.schedule is not None:
            self.count += 1
            if self._wanted and self.count >= self._wanted[0]:
                self._wanted[1].set()

    async def reach(self, count: int) -> None:
        if self.count < count:
            self._wanted = (count, trio.Event())
            with trio.fail_after(5):  # mock clock: fails only if it never comes
                await self._wanted[1].wait()


async def add(served, document, **headers):
    response = await served.client.post(
        "/_eventjobs/schedules", json=document, headers=headers
    )
    return response.status_code, await response.get_json()


@pytest.fixture
async def scheduled(gates):
    settings = Settings(journal=":memory:", shutdown_timeout=0)
    async with serve_app(
        settings,
        clock=TrioWallClock(),
        setup=lambda app: add_test_routes(app, gates),
    ) as served:
        yield served


async def test_a_cron_schedule_fires_jobs_at_its_times(autojump_clock, scheduled):
    status, body = await add(scheduled, {"cron": "*/5 * * * *", "request": REQUEST})
    assert status == 201, body
    schedule_id = int(body["id"])
    assert body["next_firing"] == FIVE_MINUTES_AFTER_EPOCH
    await trio.sleep(FIVE_MINUTES_AFTER_EPOCH - scheduled.clock() + 10 * 60 + 1)
    jobs = fired(scheduled)
    assert [job.schedule_time for job in jobs] == [
        FIVE_MINUTES_AFTER_EPOCH + k * 300 for k in range(3)
    ]
    assert all(job.schedule == schedule_id for job in jobs)
    assert all(job.time >= job.schedule_time for job in jobs)
    # Ordinary stored jobs: listed, fetchable, with the schedule in their history.
    done = await scheduled.client.get("/_api/job/done")
    assert sorted(map(int, await done.get_json())) == [job.job_id for job in jobs]
    result = await scheduled.client.put(f"/_api/job/{jobs[0].job_id}")
    assert result.status_code == 200 and await result.get_data() == b"tick"
    history = await scheduled.client.get(f"/_eventjobs/jobs/{jobs[1].job_id}/history")
    [queued, *_] = (await history.get_json())["events"]
    assert queued["schedule"] == schedule_id


async def test_an_every_schedule_in_a_time_zone_and_removal(autojump_clock, scheduled):
    status, body = await add(
        scheduled,
        {"cron": "0 9 * * *", "timezone": "Europe/Berlin", "request": REQUEST},
    )
    assert status == 201
    # 09:00 in Berlin in November is 08:00 UTC.
    assert body["next_firing"] == datetime(2023, 11, 15, 8, 0, tzinfo=UTC).timestamp()
    status, every = await add(scheduled, {"every": 60, "request": REQUEST})
    assert status == 201
    await trio.sleep(150)
    assert [job.schedule_time for job in fired(scheduled)] == [
        every["created"] + 60,
        every["created"] + 120,
    ]
    removed = await scheduled.client.delete(f"/_eventjobs/schedules/{every['id']}")
    assert removed.status_code == 200
    await trio.sleep(600)
    assert len(fired(scheduled)) == 2
    listed = await (await scheduled.client.get("/_eventjobs/schedules")).get_json()
    assert [s["id"] for s in listed["schedules"]] == [body["id"]]
    again = await scheduled.client.delete(f"/_eventjobs/schedules/{every['id']}")
    assert again.status_code == 404
    kinds = [type(r.event) for r in scheduled.journal.read()]
    assert kinds.count(ScheduleAdded) == 2 and kinds.count(ScheduleRemoved) == 1


@pytest.mark.parametrize(
    "catch_up, expected",
    [("latest", [900]), ("all", [600, 900]), ("none", [])],
)
async def test_missed_firings_follow_catch_up_across_a_restart(
    tmp_path, gates, mock_clock, catch_up, expected
):
    """The server fires at 300 s, is down from 400 s to 1000 s (missing 600 and
    900), and comes back: what it makes up is the schedule's ``catch_up``."""
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    clock = TrioWallClock()

    def setup(app):
        add_test_routes(app, gates)

    async with serve_app(settings, clock=clock, setup=setup) as served:
        seen = Firings(served)
        status, body = await add(
            served, {"every": 300, "catch_up": catch_up, "request": REQUEST}
        )
        assert status == 201
        created = body["created"]
        mock_clock.jump(301)
        await seen.reach(1)
        assert [job.schedule_time - created for job in fired(served)] == [300]
    mock_clock.jump(1000 - (clock() - created))  # down, until 1000 s
    async with serve_app(settings, clock=clock, setup=setup) as served:
        seen = Firings(served)
        await seen.reach(len(expected))
        await settle()
        mock_clock.jump(201)  # 1201 s: the next firing, 1200 s, is on time
        await seen.reach(len(expected) + 1)
        times = [job.schedule_time - created for job in fired(served)]
        assert times == pytest.approx([300, *expected, 1200])


async def test_other_users_see_no_schedule_of_yours(tmp_path, gates):
    settings = auth_settings(tmp_path)
    async with serve_app(settings, setup=lambda app: add_test_routes(app, gates)) as s:
        status, body = await add(
            s, {"every": 3600, "request": REQUEST}, **basic("alice")
        )
        assert status == 201 and body["owner"] == "alice"
        path = f"/_eventjobs/schedules/{body['id']}"
        for method in (s.client.get, s.client.delete):
            response = await method(path, headers=basic("bob"))
            assert response.status_code == 404
            assert (await response.get_json())["errorNum"] == 404
        listed = await s.client.get("/_eventjobs/schedules", headers=basic("bob"))
        assert (await listed.get_json())["schedules"] == []
        mine = await s.client.get(path, headers=basic("alice"))
        assert (await mine.get_json())["id"] == body["id"]
        anonymous = await s.client.get("/_eventjobs/schedules")
        assert anonymous.status_code == 401


async def test_a_firing_is_owned_by_the_schedule_s_owner(
    autojump_clock, tmp_path, gates
):
    settings = auth_settings(tmp_path)
    async with serve_app(
        settings, clock=TrioWallClock(), setup=lambda app: add_test_routes(app, gates)
    ) as s:
        status, _ = await add(s, {"every": 60, "request": REQUEST}, **basic("alice"))
        assert status == 201
        await trio.sleep(61)
        [job] = fired(s)
        assert job.owner == "alice"
        theirs = await s.client.get(f"/_api/job/{job.job_id}", headers=basic("bob"))
        assert theirs.status_code == 404
        own = await s.client.get(f"/_api/job/{job.job_id}", headers=basic("alice"))
        assert own.status_code == 200


@pytest.mark.parametrize(
    "document, says",
    [
        ({"cron": "*/5 * * *", "request": REQUEST}, "cron"),
        ({"cron": "61 * * * *", "request": REQUEST}, "cron"),
        (
            {"cron": "* * * * *", "timezone": "Mars/Olympus", "request": REQUEST},
            "timezone",
        ),
        ({"every": 0, "request": REQUEST}, "every"),
        ({"every": "5", "request": REQUEST}, "every"),
        ({"cron": "* * * * *", "every": 5, "request": REQUEST}, "exactly one"),
        ({"request": REQUEST}, "exactly one"),
        ({"every": 5, "catch_up": "some", "request": REQUEST}, "catch_up"),
        ({"every": 5}, "request"),
        ({"every": 5, "request": {"path": "/x"}}, "request.method"),
        ({"every": 5, "request": {"method": "GET", "path": "x"}}, "request.path"),
        (
            {"every": 5, "request": {"method": "GET", "path": "/_api/job/all"}},
            "eventjobs",
        ),
        ({"every": 5, "request": REQUEST, "extra": 1}, "extra"),
        ([], "JSON object"),
    ],
)
async def test_a_bad_document_is_400_naming_the_field(scheduled, document, says):
    status, body = await add(scheduled, document)
    assert status == 400, body
    assert body["error"] is True and body["errorNum"] == 400
    assert says in body["errorMessage"]
    assert not [
        r for r in scheduled.journal.read() if isinstance(r.event, ScheduleAdded)
    ]


async def test_a_body_that_is_not_json_is_400(scheduled):
    response = await scheduled.client.post("/_eventjobs/schedules", data=b"{nope")
    assert response.status_code == 400
    assert "not JSON" in (await response.get_json())["errorMessage"]


@pytest.mark.parametrize("schedule_id", ["999", "abc", "1" * 40])
async def test_an_unknown_id_is_404(scheduled, schedule_id):
    for method in (scheduled.client.get, scheduled.client.delete):
        response = await method(f"/_eventjobs/schedules/{schedule_id}")
        assert response.status_code == 404
        assert (await response.get_json())["errorNum"] == 404


async def test_the_journal_commands_show_schedules(tmp_path, gates, mock_clock, capsys):
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(
        settings, clock=TrioWallClock(), setup=lambda app: add_test_routes(app, gates)
    ) as served:
        seen = Firings(served)
        status, body = await add(served, {"every": 60, "request": REQUEST})
        assert status == 201
        mock_clock.jump(61)
        await seen.reach(1)
        [job] = fired(served)
        removed = await served.client.delete(f"/_eventjobs/schedules/{body['id']}")
        assert removed.status_code == 200
    from eventjobs.cli import main

    journal = str(tmp_path / "journal")
    capsys.readouterr()
    assert main(["journal", "show", journal, body["id"]]) == 0
    shown = capsys.readouterr().out
    assert "schedule_added" in shown and "every 60s, catch_up latest" in shown
    assert "schedule_removed" in shown
    assert main(["journal", "show", journal, str(job.job_id)]) == 0
    assert f"schedule {body['id']} due" in capsys.readouterr().out
    assert main(["journal", "stats", journal]) == 0
    stats = capsys.readouterr().out
    assert "schedule_added    1" in stats and "schedule_removed  1" in stats
    assert main(["journal", "export", "--format", "jsonl", journal]) == 0
    assert "schedule_added" in capsys.readouterr().out
    assert main(["journal", "verify", journal]) == 0
