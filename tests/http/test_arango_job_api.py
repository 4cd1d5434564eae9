"""Every row of the job-API table (spec section 3), one test per behaviour."""

from __future__ import annotations

import json

import pytest

from eventjobs.events import JobFetched
from tests.support import settle, submit


def assert_bad_parameter(body: dict) -> None:
    """ArangoDB's 400 bad parameter; the message goes on to say which and why
    (test_a_bad_parameter_says_which_and_why)."""
    assert {key: value for key, value in body.items() if key != "errorMessage"} == {
        "code": 400,
        "error": True,
        "errorNum": 400,
    }
    assert body["errorMessage"].startswith("bad parameter: "), body


NOT_FOUND = {"code": 404, "error": True, "errorMessage": "not found", "errorNum": 404}
METHOD_NOT_SUPPORTED = {
    "code": 405,
    "error": True,
    "errorMessage": "method not supported",
    "errorNum": 405,
}
CANCELLED = {
    "code": 410,
    "error": True,
    "errorMessage": "canceled request",
    "errorNum": 21,
}


async def json_of(response):
    return json.loads(await response.get_data())


async def done_job(served, body=b"payload"):
    """A finished job of /test/bytes whose result is *body*."""
    job_id = await submit(served.client, "POST", "/test/bytes", data=body)
    await settle()
    return job_id


async def waiting_job(served, gate="g"):
    """A running job blocked at gate *gate*."""
    job_id = await submit(served.client, "POST", f"/test/wait/{gate}")
    await settle()
    return job_id


# -- PUT /_api/job/... ------------------------------------------------------------


async def test_put_without_id_is_bad_parameter(served):
    """PUT /_api/job answers 400 bad parameter."""
    response = await served.client.put("/_api/job")
    assert response.status_code == 400
    assert_bad_parameter(await json_of(response))


async def test_put_with_trailing_slash_only_is_bad_parameter(served):
    """A trailing slash adds no path part: PUT /_api/job/ has no id."""
    response = await served.client.put("/_api/job/")
    assert response.status_code == 400


async def test_put_with_three_parts_is_bad_parameter(served):
    """PUT /_api/job/a/b/c answers 400 bad parameter."""
    response = await served.client.put("/_api/job/a/b/c")
    assert response.status_code == 400
    assert_bad_parameter(await json_of(response))


@pytest.mark.parametrize("job_id", ["999", "abc", "0"])
async def test_put_unknown_or_non_numeric_id_is_not_found(served, job_id):
    """Fetching an unknown or non-numeric id answers 404 without the id header."""
    response = await served.client.put(f"/_api/job/{job_id}")
    assert response.status_code == 404
    assert await json_of(response) == NOT_FOUND
    assert "x-arango-async-id" not in response.headers


async def test_put_pending_job_answers_204_and_keeps_it(served, gates):
    """Fetching a running job gives 204, empty, no id header; it stays pending."""
    job_id = await waiting_job(served)
    response = await served.client.put(f"/_api/job/{job_id}")
    assert response.status_code == 204
    assert await response.get_data() == b""
    assert "x-arango-async-id" not in response.headers
    assert (await served.client.get(f"/_api/job/{job_id}")).status_code == 204


async def test_put_queued_job_answers_204(gates):
    """A job still queued behind --max-running 1 is pending too."""
    from eventjobs import Settings
    from tests.http.conftest import add_test_routes
    from tests.support import serve_app

    settings = Settings(journal=":memory:", max_running=1)
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        await waiting_job(served, "first")
        queued = await waiting_job(served, "second")
        assert served.runtime.table.jobs[queued].phase.value == "queued"
        response = await served.client.put(f"/_api/job/{queued}")
        assert response.status_code == 204
        gates.open("first")
        gates.open("second")


async def test_put_done_job_returns_original_response_once(served, gates):
    """A done job's fetch returns its original status, headers and body plus
    x-arango-async-id, and removes it."""
    job_id = await waiting_job(served)
    gates.open("g")
    await settle()
    response = await served.client.put(f"/_api/job/{job_id}")
    assert response.status_code == 201
    assert await response.get_data() == b"released g"
    assert response.headers["x-test"] == "yes"
    assert response.headers["x-arango-async-id"] == str(job_id)
    again = await served.client.put(f"/_api/job/{job_id}")
    assert again.status_code == 404
    assert "x-arango-async-id" not in again.headers


async def test_fetch_is_recorded_durably_before_the_result_is_sent(served):
    """The fetched event is in the journal when the result is answered."""
    job_id = await done_job(served)
    await served.client.put(f"/_api/job/{job_id}")
    events = [record.event for record in served.journal.read()]
    assert any(isinstance(e, JobFetched) and e.job_id == job_id for e in events)


async def test_put_reads_leading_digits_of_the_id(served):
    """An id of "123abc" reads as 123."""
    job_id = await done_job(served)
    response = await served.client.put(f"/_api/job/{job_id}xyz")
    assert response.status_code == 200
    assert response.headers["x-arango-async-id"] == str(job_id)


async def test_binary_result_round_trips_exactly(served):
    """A result body that is not UTF-8 comes back byte for byte."""
    body = bytes(range(256))
    job_id = await done_job(served, body)
    response = await served.client.put(f"/_api/job/{job_id}")
    assert await response.get_data() == body
    assert response.headers["content-type"] == "application/octet-stream"


async def test_head_result_has_empty_body_and_zero_length(served):
    """The stored result of a HEAD request comes back empty, content-length 0."""
    response = await served.client.head(
        "/_api/version", headers={"x-arango-async": "store"}
    )
    assert response.status_code == 202
    job_id = response.headers["x-arango-async-id"]
    await settle()
    result = await served.client.put(f"/_api/job/{job_id}")
    assert result.status_code == 200
    assert await result.get_data() == b""
    assert result.headers["content-length"] == "0"


# -- PUT /_api/job/{id}/cancel ----------------------------------------------------------


async def test_cancel_running_job_answers_true_and_stores_410(served, gates):
    """Cancel of a running job: 200 {"result":true}, the handler is cancelled,
    and the stored result is the 410 canceled request."""
    job_id = await waiting_job(served)
    response = await served.client.put(f"/_api/job/{job_id}/cancel")
    assert response.status_code == 200
    assert await json_of(response) == {"result": True}
    await settle()
    assert gates.cancelled == ["g"]
    result = await served.client.put(f"/_api/job/{job_id}")
    assert result.status_code == 410
    assert await json_of(result) == CANCELLED
    assert result.headers["x-arango-async-id"] == str(job_id)


async def test_cancel_done_job_leaves_its_result(served):
    """Cancel of a done job answers true and leaves the stored result as it was."""
    job_id = await done_job(served, b"kept")
    response = await served.client.put(f"/_api/job/{job_id}/cancel")
    assert response.status_code == 200
    result = await served.client.put(f"/_api/job/{job_id}")
    assert result.status_code == 200
    assert await result.get_data() == b"kept"


async def test_cancel_twice_is_fine(served, gates):
    """Cancelling twice answers true both times; one 410 result results."""
    job_id = await waiting_job(served)
    first = await served.client.put(f"/_api/job/{job_id}/cancel")
    second = await served.client.put(f"/_api/job/{job_id}/cancel")
    assert (first.status_code, second.status_code) == (200, 200)
    await settle()
    assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 410


async def test_cancel_unknown_job_is_not_found_with_arango_message(served):
    """Cancel of an unknown job: 404 naming the job as ArangoDB does."""
    response = await served.client.put("/_api/job/77/cancel")
    assert response.status_code == 404
    assert await json_of(response) == {
        "code": 404,
        "error": True,
        "errorMessage": "could not find job (77) in AsyncJobManager during cancel operation",
        "errorNum": 404,
    }


async def test_put_with_other_word_is_bad_parameter(served):
    """PUT /_api/job/{id}/{word} with a word other than cancel is 400."""
    job_id = await done_job(served)
    response = await served.client.put(f"/_api/job/{job_id}/stop")
    assert response.status_code == 400
    assert_bad_parameter(await json_of(response))


# -- GET /_api/job/... -------------------------------------------------------------------------


async def test_get_status_of_done_job_is_200_empty_and_keeps_it(served):
    """Status of a done job: 200, empty body, no id header; nothing removed."""
    job_id = await done_job(served)
    for _ in range(2):
        response = await served.client.get(f"/_api/job/{job_id}")
        assert response.status_code == 200
        assert await response.get_data() == b""
        assert "x-arango-async-id" not in response.headers
    assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 200


async def test_get_status_of_pending_job_is_204(served):
    """Status of a running job: 204, empty."""
    job_id = await waiting_job(served)
    response = await served.client.get(f"/_api/job/{job_id}")
    assert response.status_code == 204
    assert await response.get_data() == b""


async def test_get_status_of_unknown_job_is_404(served):
    """Status of an unknown id that starts with 1-9: 404 not found."""
    response = await served.client.get("/_api/job/12345")
    assert response.status_code == 404
    assert await json_of(response) == NOT_FOUND


@pytest.mark.parametrize("part", ["0", "abc", "Done", "PENDING", "-1"])
async def test_get_other_word_is_bad_parameter(served, part):
    """GET /_api/job/{other} is 400 bad parameter."""
    response = await served.client.get(f"/_api/job/{part}")
    assert response.status_code == 400
    assert_bad_parameter(await json_of(response))


@pytest.mark.parametrize(
    "path", ["/_api/job", "/_api/job/", "/_api/job/done/x", "/_api/job/1/2/3"]
)
async def test_get_without_part_or_with_two_is_bad_parameter(served, path):
    """GET /_api/job with zero parts, or two or more, is 400."""
    response = await served.client.get(path)
    assert response.status_code == 400


async def test_list_done_and_pending_ascending(served, gates):
    """done and pending list the ids in that state as strings, ascending."""
    done = [await done_job(served) for _ in range(3)]
    pending = [await waiting_job(served) for _ in range(2)]
    response = await served.client.get("/_api/job/done")
    assert response.status_code == 200
    assert await json_of(response) == [str(i) for i in done]
    assert await json_of(await served.client.get("/_api/job/pending")) == [
        str(i) for i in pending
    ]


async def test_list_count_limits_and_defaults_to_100(served):
    """count caps the list; without it at most 100 ids come back."""
    ids = [await done_job(served) for _ in range(105)]
    assert await json_of(await served.client.get("/_api/job/done?count=2")) == [
        str(i) for i in ids[:2]
    ]
    assert len(await json_of(await served.client.get("/_api/job/done"))) == 100
    assert (
        len(await json_of(await served.client.get("/_api/job/done?count=1000"))) == 105
    )


@pytest.mark.parametrize("count", ["abc", "-1", "1.5", ""])
async def test_list_with_malformed_count_is_bad_parameter(served, count):
    """A count that is not a whole number is 400."""
    response = await served.client.get(f"/_api/job/done?count={count}")
    assert response.status_code == 400


async def test_fetched_job_leaves_done_list(served):
    """A fetched job is no longer listed."""
    job_id = await done_job(served)
    await served.client.put(f"/_api/job/{job_id}")
    assert await json_of(await served.client.get("/_api/job/done")) == []


# -- DELETE /_api/job/... --------------------------------------------------------------


async def test_delete_all_removes_done_and_pending_but_work_goes_on(served, gates):
    """DELETE all removes every job, pending ones too; running work keeps running."""
    done = await done_job(served)
    running = await waiting_job(served)
    response = await served.client.delete("/_api/job/all")
    assert response.status_code == 200
    assert await json_of(response) == {"result": True}
    for job_id in (done, running):
        assert (await served.client.get(f"/_api/job/{job_id}")).status_code == 404
    assert gates.waiting["g"] == 1  # still running
    gates.open("g")
    await settle()
    assert gates.cancelled == []
    assert await json_of(await served.client.get("/_api/job/done")) == []


async def test_delete_expired_without_stamp_is_bad_parameter(served):
    """DELETE expired needs a stamp."""
    response = await served.client.delete("/_api/job/expired")
    assert response.status_code == 400
    assert_bad_parameter(await json_of(response))


@pytest.mark.parametrize("stamp", ["abc", "nan", "inf"])
async def test_delete_expired_with_malformed_stamp_is_bad_parameter(served, stamp):
    """A stamp that is not a finite number is 400."""
    response = await served.client.delete(f"/_api/job/expired?stamp={stamp}")
    assert response.status_code == 400


async def test_delete_expired_removes_strictly_older_stamps(served, gates):
    """Jobs whose stamp is strictly lower than T go; a done job's stamp is its
    completion time, a pending one's its creation time."""
    clock = served.clock
    start = clock.now
    old_pending = await waiting_job(served, "a")  # created at start
    clock.advance(10)
    old_done = await done_job(served)  # completed at start + 10
    clock.advance(10)
    new_done = await done_job(served)  # completed at start + 20
    response = await served.client.delete(f"/_api/job/expired?stamp={int(start + 10)}")
    assert response.status_code == 200
    assert await json_of(response) == {"result": True}
    remaining = await json_of(await served.client.get("/_api/job/done"))
    assert remaining == [str(old_done), str(new_done)]  # stamp == T is kept
    assert await json_of(await served.client.get("/_api/job/pending")) == []
    response = await served.client.delete(f"/_api/job/expired?stamp={start + 10.5}")
    assert await json_of(await served.client.get("/_api/job/done")) == [str(new_done)]
    # the pending job created before T went too (its stamp is its creation)
    assert (await served.client.get(f"/_api/job/{old_pending}")).status_code == 404


async def test_delete_expired_matching_nothing_is_still_true(served):
    """DELETE expired answers true also when nothing matched."""
    response = await served.client.delete("/_api/job/expired?stamp=1")
    assert response.status_code == 200
    assert await json_of(response) == {"result": True}


async def test_delete_by_id_removes_done_job(served):
    """DELETE /_api/job/{id} removes a done job."""
    job_id = await done_job(served)
    response = await served.client.delete(f"/_api/job/{job_id}")
    assert response.status_code == 200
    assert await json_of(response) == {"result": True}
    assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 404


async def test_delete_by_id_does_not_stop_pending_job(served, gates):
    """A deleted pending job is not stopped; its result is discarded."""
    job_id = await waiting_job(served)
    assert (await served.client.delete(f"/_api/job/{job_id}")).status_code == 200
    assert gates.waiting["g"] == 1
    gates.open("g")
    await settle()
    assert gates.cancelled == []
    assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 404
    assert job_id not in served.runtime.table.jobs


@pytest.mark.parametrize("job_id", ["424242", "abc"])
async def test_delete_unknown_or_non_numeric_is_not_found(served, job_id):
    """DELETE of an unknown or non-numeric id is 404."""
    response = await served.client.delete(f"/_api/job/{job_id}")
    assert response.status_code == 404
    assert await json_of(response) == NOT_FOUND


@pytest.mark.parametrize("path", ["/_api/job", "/_api/job/", "/_api/job/1/cancel"])
async def test_delete_without_part_or_with_two_is_bad_parameter(served, path):
    """DELETE /_api/job with zero parts, or two or more, is 400."""
    response = await served.client.delete(path)
    assert response.status_code == 400


# -- other methods, aliases, prefixes ---------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "OPTIONS", "HEAD"])
async def test_other_methods_are_not_supported(served, method):
    """Any other method on the job API is 405 method not supported."""
    response = await served.client.open("/_api/job/1", method=method)
    assert response.status_code == 405
    if method != "HEAD":
        assert await json_of(response) == METHOD_NOT_SUPPORTED


@pytest.mark.parametrize(
    "root", ["/_admin/job", "/_db/_system/_api/job", "/_db/other/_admin/job"]
)
async def test_alias_and_database_prefixes_reach_the_same_jobs(served, root):
    """/_admin/job and every /_db/<name>/ prefix serve the same job API."""
    job_id = await done_job(served, b"via alias")
    assert await json_of(await served.client.get(f"{root}/done")) == [str(job_id)]
    response = await served.client.put(f"{root}/{job_id}")
    assert response.status_code == 200
    assert await response.get_data() == b"via alias"
    assert (await served.client.get(f"{root}")).status_code == 400


async def test_job_api_ignores_async_header(served):
    """Requests to the job API are always answered synchronously."""
    job_id = await done_job(served)
    response = await served.client.get(
        f"/_api/job/{job_id}", headers={"x-arango-async": "store"}
    )
    assert response.status_code == 200
    assert "x-arango-async-id" not in response.headers


async def test_ids_and_counts_with_thousands_of_digits_are_answered_plainly(served):
    """A 5,000-digit id names no job (404) and a 5,000-digit count lists all
    (no upper bound): never a 500 from Python's integer-conversion limit."""
    digits = "1" * 5000
    assert (await served.client.get(f"/_api/job/{digits}")).status_code == 404
    assert (await served.client.put(f"/_api/job/{digits}")).status_code == 404
    assert (await served.client.delete(f"/_api/job/{digits}")).status_code == 404
    job_id = await done_job(served)
    listed = await served.client.get(f"/_api/job/done?count={digits}")
    assert await json_of(listed) == [str(job_id)]


@pytest.mark.parametrize(
    "method, path, headers, naming",
    [
        ("PUT", "/_api/job", {}, "a job id"),
        ("PUT", "/_api/job/a/b/c", {}, "'a/b/c'"),
        ("PUT", "/_api/job/1/stop", {}, "'stop'"),
        ("GET", "/_api/job", {}, "a job id, 'done' or 'pending'"),
        ("GET", "/_api/job/abc", {}, "'abc'"),
        ("GET", "/_api/job/done?count=many", {}, "count"),
        ("GET", "/_api/job/1", {"x-eventjobs-wait": "soon"}, "x-eventjobs-wait"),
        ("DELETE", "/_api/job", {}, "'all' or 'expired'"),
        ("DELETE", "/_api/job/expired", {}, "stamp"),
        ("DELETE", "/_api/job/expired?stamp=yesterday", {}, "'yesterday'"),
        ("GET", "/_admin/sleep?duration=-1", {}, "duration"),
    ],
)
async def test_a_bad_parameter_says_which_and_why(
    served, method, path, headers, naming
):
    """ArangoDB's code and errorNum (what clients look at), and a message
    that starts as ArangoDB's and goes on to name the parameter and why."""
    response = await served.client.open(path, method=method, headers=headers)
    assert response.status_code == 400
    body = await json_of(response)
    assert {key: body[key] for key in ("code", "error", "errorNum")} == {
        "code": 400,
        "error": True,
        "errorNum": 400,
    }
    assert body["errorMessage"].startswith("bad parameter: "), body
    assert naming in body["errorMessage"], body
