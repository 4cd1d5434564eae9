"""The dashboard in a real headless Chromium against a real server process:
what an operator sees and does, as they would do it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Tab
from tests.support import (
    TEST_USERS,
    ServerProcess,
    basic,
    server_process,
    write_users_file,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

STORE = {"x-arango-async": "store"}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with server_process("--journal", ":memory:", "--shutdown-timeout", "0") as server:
        yield server


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    users = write_users_file(tmp_path_factory.mktemp("dashboard") / "users.json")
    with server_process(
        "--journal", ":memory:", "--shutdown-timeout", "0", "--users", users
    ) as server:
        yield server


def submit(
    server: ServerProcess, method: str, path: str, user: str | None = None, **kwargs
) -> str:
    headers = {**STORE, **(basic(user) if user else {}), **kwargs.pop("headers", {})}
    response = httpx.request(method, server.url + path, headers=headers, **kwargs)
    assert response.status_code == 202, response.text
    return response.headers["x-arango-async-id"]


def open_dashboard(tab: Tab, server: ServerProcess, fragment: str = "") -> Page:
    page = tab.page
    page.goto(f"{server.url}/_eventjobs/ui{fragment}")
    return page


def wait_live(page: Page) -> None:
    """The page has loaded and its live stream is open."""
    expect(page.locator("#live")).to_have_attribute("data-state", "on")


def row(page: Page, table: str, job: str):
    return page.locator(f"#{table}-table tr[data-job='{job}']")


def sign_in(page: Page, user: str, password: str | None = None) -> None:
    page.fill("#login-user", user)
    page.fill("#login-password", TEST_USERS[user][0] if password is None else password)
    page.click("#login-submit")


# -- loading and live updates ---------------------------------------------------------


def test_page_loads_clean_and_shows_a_job_submitted_through_the_api_within_a_second(
    open_tab, server, artifacts
):
    tab = open_tab()
    page = open_dashboard(tab, server)
    wait_live(page)
    job = submit(server, "POST", "/_admin/sleep?duration=300")
    # No reload: the job arrives through the live stream.
    expect(row(page, "pending", job)).to_be_visible(timeout=1000)
    expect(row(page, "pending", job).locator(".col-state")).to_have_text("running")
    expect(row(page, "pending", job).locator(".col-path")).to_have_text("/_admin/sleep")
    assert int(page.text_content("#count-running")) >= 1
    screenshot(page, artifacts / "dashboard-live.png")
    httpx.put(f"{server.url}/_api/job/{job}/cancel")
    assert tab.console.errors == [], tab.console.messages


def test_a_finished_job_moves_to_the_done_table(open_tab, progress_server):
    tab = open_tab()
    page = open_dashboard(tab, progress_server)
    wait_live(page)
    # Held until released: a timed job could end before the page shows it.
    job = submit(progress_server, "POST", "/hold/finished-job")
    expect(row(page, "pending", job)).to_be_visible()
    released = httpx.post(f"{progress_server.url}/release/finished-job")
    assert released.status_code == 200, released.text
    expect(row(page, "done", job)).to_be_visible()
    expect(row(page, "pending", job)).to_have_count(0)
    expect(row(page, "done", job).locator(".col-status")).to_have_text("200")
    assert tab.console.errors == [], tab.console.messages


def test_the_page_says_loading_until_it_has_data_and_offline_only_when_the_feed_fails(
    open_tab, server
):
    """Nothing has failed before the script has run or the first answer has
    come: the page says it is loading, not "offline"."""
    # Before the script has run (here: never).
    page = open_tab().page
    page.route("**/ui/static/app.js", lambda route: route.abort())
    page.goto(f"{server.url}/_eventjobs/ui")
    expect(page.locator("#loading-view")).to_have_text("Loading…")
    expect(page.locator("#live-text")).to_have_text("loading…")
    # Before the first answer with the rows (here: never); the feed is live.
    tab = open_tab()
    tab.page.route("**/_eventjobs/jobs?*", lambda route: None)
    page = open_dashboard(tab, server)
    wait_live(page)
    expect(page.locator("#loading-view")).to_be_hidden()
    expect(page.locator("#pending-table")).to_contain_text("Loading…")
    expect(page.locator("#done-table")).to_contain_text("Loading…")
    assert tab.console.errors == [], tab.console.messages
    # The feed cannot be opened: offline, and the rows are there anyway.
    job = submit(server, "PUT", "/_admin/echo")
    page = open_tab().page
    page.route("**/_eventjobs/events", lambda route: route.abort())
    page.goto(f"{server.url}/_eventjobs/ui")
    expect(page.locator("#live")).to_have_attribute("data-state", "off")
    expect(page.locator("#live-text")).to_have_text("offline")
    expect(row(page, "done", job)).to_be_visible()


# -- a job's page -------------------------------------------------------------------------


def test_cancel_from_the_job_page_stops_the_job_and_its_result_is_410(open_tab, server):
    tab = open_tab()
    job = submit(server, "POST", "/_admin/sleep?duration=300")
    page = open_dashboard(tab, server, f"#/jobs/{job}")
    wait_live(page)
    expect(page.locator("#job-state")).to_have_text("running")
    page.click("#job-cancel")
    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(page.locator(".timeline .event-cancelled")).to_be_visible()
    response = httpx.put(f"{server.url}/_api/job/{job}")
    assert response.status_code == 410
    assert (response.json()["errorNum"], response.headers["x-arango-async-id"]) == (
        21,
        job,
    )
    # Fetched now: the page shows it, live.
    expect(page.locator("#job-gone")).to_have_text("fetched")
    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(page.locator("#job-cancel")).to_have_count(0)
    assert tab.console.errors == [], tab.console.messages


def test_delete_from_the_job_page_asks_twice_then_removes_the_job(open_tab, server):
    tab = open_tab()
    job = submit(server, "PUT", "/_admin/echo", content=b"keep me")
    page = open_dashboard(tab, server, f"#/jobs/{job}")
    wait_live(page)
    expect(page.locator("#job-state")).to_have_text("done")
    page.click("#job-delete")
    expect(page.locator("#job-delete")).to_have_text("Delete: sure?")
    assert httpx.get(f"{server.url}/_api/job/{job}").status_code == 200  # not yet
    page.click("#job-delete")
    expect(page.locator("#job-gone")).to_have_text("deleted")
    assert httpx.get(f"{server.url}/_api/job/{job}").status_code == 404
    page.click("a.back")
    wait_live(page)
    expect(page.locator("#list-view")).to_be_visible()
    expect(row(page, "done", job)).to_have_count(0)
    assert tab.console.errors == [], tab.console.messages


def test_job_page_shows_timeline_previews_and_hostile_text_as_text(
    open_tab, server, artifacts
):
    """What clients sent is shown, never run: markup in a body stays text."""
    tab = open_tab()
    hostile = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    job = submit(
        server,
        "POST",
        "/_admin/echo?note=%3Cb%3E",
        content=json.dumps({"html": hostile}),
        headers={**STORE, "x-note": "<b>bold</b>" + hostile},
    )
    page = open_dashboard(tab, server, f"#/jobs/{job}")
    wait_live(page)
    expect(page.locator("#job-state")).to_have_text("done")
    expect(page.locator(".timeline .event-type")).to_have_text(
        ["queued", "started", "done"]
    )
    # The query string as it was sent; markup in a header shown as the text it is.
    expect(page.locator(".job-target .path")).to_have_text("/_admin/echo?note=%3Cb%3E")
    expect(
        page.locator("table.headers tr", has_text="x-note").locator("td")
    ).to_have_text("<b>bold</b>" + hostile)
    request_body = page.locator(".previews section").nth(0).locator("pre.body")
    expect(request_body).to_contain_text(json.dumps(hostile))  # pretty-printed JSON
    response_body = page.locator(".previews section").nth(1).locator("pre.body")
    expect(response_body).to_contain_text('"method": "POST"')
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Queue wait")
    expect(facts).to_contain_text("Run time")
    assert (
        page.locator("#job-content img, #job-content script, #job-content b").count()
        == 0
    )
    assert page.title() == f"Job {job} · eventjobs"
    screenshot(page, artifacts / "dashboard-job.png")
    assert tab.console.errors == [], tab.console.messages


def test_job_page_shows_the_receipt_status_when_the_server_signs(open_tab, tmp_path):
    """With --checkpoint-key the job page names the checkpoint its records
    are proved in (the page itself verifies nothing, and says so)."""
    from eventjobs.audit.keygen import write_pair
    from eventjobs.signed_note import Signer

    write_pair(
        Signer.generate("example.com/jobs"), tmp_path / "k.key", tmp_path / "k.pub"
    )
    with server_process(
        "--journal",
        ":memory:",
        "--shutdown-timeout",
        "0",
        "--checkpoint-key",
        str(tmp_path / "k.key"),
        "--checkpoint-interval",
        "0.05",
    ) as signing:
        job = submit(signing, "GET", "/_api/version")
        # Until a checkpoint holding the job's records is signed.
        with httpx.Client(base_url=signing.url) as client:
            receipt = client.get(f"/_eventjobs/jobs/{job}/receipt")
            deadline = time.monotonic() + 30
            while receipt.status_code != 200 or len(receipt.json()["records"]) < 3:
                assert time.monotonic() < deadline, receipt.text
                receipt = client.get(f"/_eventjobs/jobs/{job}/receipt")
        tab = open_tab()
        page = open_dashboard(tab, signing, f"#/jobs/{job}")
        wait_live(page)
        expect(page.locator("#job-state")).to_have_text("done")
        expect(page.locator("#job-receipt")).to_contain_text("in checkpoint ")
        expect(page.locator("#job-receipt")).to_contain_text("not verified here")
        assert tab.console.errors == [], tab.console.messages


def test_a_job_without_an_owner_shows_as_dash_as_the_owner_filter_names_it(
    open_tab, server
):
    """`-` is what the owner filter takes for "no owner" (a user may be
    named anonymous): the table, the suggestions and the job page agree."""
    job = submit(server, "POST", "/_admin/sleep?duration=300")
    tab = open_tab()
    page = open_dashboard(tab, server)
    wait_live(page)
    expect(row(page, "pending", job).locator(".col-owner")).to_have_text("-")
    expect(page.locator("#owners option[value='-']")).to_have_count(1)
    page.fill("#filter-owner", "-")
    expect(row(page, "pending", job)).to_be_visible()
    page.click(f"#pending-table tr[data-job='{job}'] a")
    expect(page.locator(".fact", has_text="Owner").locator("dd")).to_have_text("-")
    page.click("#job-cancel")
    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(page.locator(".timeline .event-who")).to_have_text(["-", "the server", "-"])
    assert tab.console.errors == [], tab.console.messages


def test_a_job_page_writes_every_time_one_unambiguous_way(open_tab, server):
    job = submit(server, "PUT", "/_admin/echo")
    tab = open_tab()
    page = open_dashboard(tab, server, f"#/jobs/{job}")
    expect(page.locator("#job-state")).to_have_text("done")
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}"
    queued = page.locator(".fact", has_text="Queued").locator("dd").text_content()
    assert re.fullmatch(stamp, queued), queued
    times = page.locator(".timeline .event-time").all_text_contents()
    assert len(times) == 3, times
    assert all(re.fullmatch(stamp + r" \(\+.+\)", shown) for shown in times), times
    assert times[0].startswith(queued + " "), (times, queued)
    assert tab.console.errors == [], tab.console.messages


@pytest.fixture(scope="module")
def progress_server() -> Iterator[ServerProcess]:
    """A server whose mounted app has a job that reports progress."""
    with server_process(
        "--journal",
        ":memory:",
        "--shutdown-timeout",
        "0",
        "--progress-interval",
        "0",
        "--app",
        "tests.browser.progress_app:app",
    ) as server:
        yield server


def test_progress_shows_as_a_bar_in_the_table_and_folded_in_the_timeline(
    open_tab, progress_server
):
    tab = open_tab()
    page = open_dashboard(tab, progress_server)
    wait_live(page)
    job = submit(progress_server, "POST", "/steps/9")
    progress = row(page, "pending", job).locator(".col-progress")
    expect(progress).to_have_text("90% · step 9 <i>of</i> 9")
    expect(progress.locator("[role=progressbar]")).to_have_attribute(
        "aria-valuenow", "90"
    )
    page.click(f"#pending-table tr[data-job='{job}'] a")
    # Nine reports: the first, "6 more", the last two; all nine when asked.
    expect(page.locator(".timeline .event-progress")).to_have_count(3)
    page.click("text=6 more progress reports")
    expect(page.locator(".timeline .event-progress")).to_have_count(9)
    expect(page.locator(".job-progress")).to_contain_text("step 9 <i>of</i> 9")
    page.click("#job-cancel")
    expect(page.locator("#job-state")).to_have_text("cancelled")
    assert tab.console.errors == [], tab.console.messages


# -- sorting and filtering -----------------------------------------------------------------


def test_tables_sort_by_a_column_and_filter_by_path(open_tab, server):
    tab = open_tab()
    first = submit(server, "GET", "/_api/version")
    second = submit(server, "POST", "/_admin/echo")
    page = open_dashboard(tab, server)
    wait_live(page)
    expect(row(page, "done", second)).to_be_visible()
    ids = lambda: page.locator("#done-table tbody .col-id").all_text_contents()
    page.click("#done-table th >> text=ID")
    expect(page.locator("#done-table th[aria-sort='descending']")).to_have_text("ID▼")
    assert ids() == sorted(ids(), key=int, reverse=True)
    page.click("#done-table th >> text=ID")
    expect(page.locator("#done-table th[aria-sort='ascending']")).to_have_text("ID▲")
    assert ids() == sorted(ids(), key=int)
    page.fill("#filter-path", "version")
    expect(row(page, "done", second)).to_have_count(0)
    expect(row(page, "done", first)).to_be_visible()
    assert all(
        path == "/_api/version"
        for path in page.locator("#done-table tbody .col-path").all_text_contents()
    )
    page.click("#filter-clear")
    expect(row(page, "done", second)).to_be_visible()
    assert tab.console.errors == [], tab.console.messages


# -- authentication and ownership ------------------------------------------------------------


def test_login_form_signs_in_and_a_user_sees_only_their_own_jobs(open_tab, auth_server):
    alice_job = submit(auth_server, "POST", "/_admin/sleep?duration=300", user="alice")
    bob_job = submit(auth_server, "POST", "/_admin/sleep?duration=300", user="bob")
    tab = open_tab()
    page = open_dashboard(tab, auth_server)
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#list-view")).to_be_hidden()
    sign_in(page, "alice", "not her password")
    expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    sign_in(page, "alice")
    wait_live(page)
    expect(page.locator("#who")).to_have_text("alice")
    expect(row(page, "pending", alice_job)).to_be_visible()
    expect(row(page, "pending", bob_job)).to_have_count(0)
    # Live too: bob's new job is never shown, alice's next one is (the
    # stream is ordered, so once hers is there, his would have been).
    bob_later = submit(auth_server, "POST", "/_admin/echo", user="bob")
    alice_later = submit(auth_server, "POST", "/_admin/echo", user="alice")
    expect(row(page, "done", alice_later)).to_be_visible()
    expect(row(page, "done", bob_later)).to_have_count(0)
    assert (
        page.locator(
            "#pending-table .col-owner, #done-table .col-owner"
        ).all_text_contents()
        == ["alice"] * 2
    )
    # Bob's job page is as unknown to her as a job that never existed.
    page.goto(f"{auth_server.url}/_eventjobs/ui#/jobs/{bob_job}")
    expect(page.locator("#job-content")).to_contain_text(
        "No such job is visible to you"
    )
    # The token lives in this tab's session storage, and signing out drops it.
    assert page.evaluate("sessionStorage.getItem('eventjobs.jwt')")
    page.goto(f"{auth_server.url}/_eventjobs/ui")
    page.click("#logout")
    expect(page.locator("#login-view")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('eventjobs.jwt')") is None
    # The only errors: the browser's own reports of the wrong password's 401
    # and of the 404 for bob's job.
    assert tab.console.errors == [
        "error: Failed to load resource: the server responded with a status of 401 ()",
        "error: Failed to load resource: the server responded with a status of 404 ()",
    ], tab.console.messages


def test_a_superuser_sees_every_users_jobs(open_tab, auth_server):
    alice_job = submit(auth_server, "POST", "/_admin/echo", user="alice")
    bob_job = submit(auth_server, "POST", "/_admin/echo", user="bob")
    tab = open_tab()
    page = open_dashboard(tab, auth_server)
    sign_in(page, "root")
    wait_live(page)
    expect(page.locator("#who")).to_have_text("rootsuperuser")
    expect(row(page, "done", alice_job)).to_be_visible()
    expect(row(page, "done", bob_job)).to_be_visible()
    page.fill("#filter-owner", "bob")
    expect(row(page, "done", alice_job)).to_have_count(0)
    expect(row(page, "done", bob_job)).to_be_visible()
    assert tab.console.errors == [], tab.console.messages


# -- phones ------------------------------------------------------------------------------------


def screenshot(page: Page, path: Path) -> None:
    """A full-page screenshot kept as a test artefact."""
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000, f"{path} looks empty"


def page_overflows(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_on_a_phone_the_tables_and_job_page_fit_the_screen(open_tab, server, artifacts):
    long_query = "word=" + "x" * 400
    job = submit(server, "POST", f"/_admin/echo?{long_query}", content="y" * 2000)
    submit(server, "POST", "/_admin/sleep?duration=300")
    tab = open_tab(PHONE)
    page = open_dashboard(tab, server)
    wait_live(page)
    expect(row(page, "done", job)).to_be_visible()
    assert not page_overflows(page)
    screenshot(page, artifacts / "dashboard-phone.png")
    page.click(f"#done-table tr[data-job='{job}'] a")
    expect(page.locator("#job-state")).to_have_text("done")
    assert not page_overflows(page)
    screenshot(page, artifacts / "dashboard-phone-job.png")
    assert tab.console.errors == [], tab.console.messages
