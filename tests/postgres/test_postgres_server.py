"""Real server processes and the journal commands on a PostgreSQL journal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventjobs.journal.segments import segment_paths
from tests.e2e.helpers import wait_until
from tests.postgres.conftest import schema_of, sql
from tests.support import final_sentence, free_port, server_process

pytestmark = pytest.mark.e2e

STORE = {"x-arango-async": "store"}
TIMEOUT = 60


def eventjobs(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventjobs", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def one_line_error(
    result: subprocess.CompletedProcess[str], prefix: str = "eventjobs: "
) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def submit(
    client: httpx.Client, path: str, method: str = "PUT", **kwargs: object
) -> str:
    accepted = client.request(method, path, headers=STORE, **kwargs)  # type: ignore[arg-type]
    assert accepted.status_code == 202, accepted.text
    return accepted.headers["x-arango-async-id"]


@pytest.fixture
def served(pg_url: str) -> Iterator[str]:
    """*pg_url* after a server ran on it: an echo job done and a sleep job
    interrupted by the server's graceful shutdown."""
    with server_process("--journal", pg_url, "--shutdown-timeout", "0") as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            echo = submit(client, "/_admin/echo", content=b"kept in postgres")
            wait_until(
                lambda: client.get(f"/_api/job/{echo}").status_code == 200, "echo done"
            )
            submit(client, "/_admin/sleep?duration=600", "POST")
        assert server.stop() == 0, server.text
    assert "Traceback" not in server.text
    yield pg_url


def test_results_survive_a_restart_on_postgres(served: str) -> None:
    with server_process("--journal", served) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            result = client.put("/_api/job/1")
            assert result.status_code == 200
            assert result.json()["body"] == "kept in postgres"
            interrupted = client.put("/_api/job/2")
            assert interrupted.status_code == 503
            assert "interrupted" in interrupted.json()["errorMessage"]
            assert submit(client, "/_admin/echo") == "3"
            # The journal over HTTP reads the PostgreSQL rows too.
            history = client.get("/_eventjobs/jobs/1/history")
            assert history.status_code == 200
            assert [event["type"] for event in history.json()["events"]] == [
                "queued",
                "started",
                "done",
                "fetched",
            ]
            stream = client.get("/_eventjobs/journal", params={"after": "2"})
            assert stream.status_code == 200
            seqs = [
                int(line.split(b'"seq":')[1].split(b",")[0])
                for line in stream.content.splitlines()
            ]
            assert seqs[:3] == [3, 4, 5]
        assert server.stop() == 0
    assert "journal postgresql://" in server.text


def test_more_than_one_worker_is_refused_on_a_journal_directory(tmp_path: Path) -> None:
    message = one_line_error(
        eventjobs("serve", "--workers", "3", "--journal", str(tmp_path / "journal"))
    )
    assert message.startswith(
        "eventjobs: --workers 3: several server processes need a PostgreSQL journal"
    ), message


def test_hypercorn_with_two_workers_on_a_journal_directory_tells_the_operator(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "-k",
            "trio",
            "-w",
            "2",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "eventjobs.asgi:create_app()",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "EVENTJOBS_JOURNAL": str(tmp_path / "journal")},
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    messages = [line for line in output.splitlines() if line.startswith("eventjobs: ")]
    assert len(messages) == 1, output
    assert "is in use by another eventjobs server" in messages[0]
    assert "With hypercorn, run one worker (-w 1)" in messages[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres:hunter2@127.0.0.1:{closed}/x",
            "Connection refused; is PostgreSQL running there?",
        ),
        (
            "postgresql://postgres:hunter2@127.0.0.1:{port}/no_such_database",
            'database "no_such_database" does not exist; create the database',
        ),
        (
            "postgresql://no_such_role:hunter2@127.0.0.1:{port}/postgres",
            'role "no_such_role" does not exist; create that user',
        ),
        (
            "postgresql://postgres:hunter2@127.0.0.1:{port}/x?nonsense=1",
            "is not valid (invalid URI query parameter",
        ),
        ("postgres://postgres:hunter2@127.0.0.1:port/x", "does not parse"),
    ],
)
def test_unusable_postgres_urls_get_one_line(
    pg_database_url: str, url: str, expected: str
) -> None:
    port = pg_database_url.split(":")[-1].split("/")[0]
    url = url.format(port=port, closed=free_port())
    message = one_line_error(
        eventjobs("serve", "--bind", f"127.0.0.1:{free_port()}", "--journal", url)
    )
    assert "hunter2" not in message
    assert ":***@127.0.0.1" in message
    assert expected in message


# -- damage -----------------------------------------------------------------------------


def test_an_edited_row_is_named_by_verify_and_by_start_up(served: str) -> None:
    schema = schema_of(served)
    assert eventjobs("journal", "verify", served).stdout.startswith("ok: ")
    sql(
        served, f"DELETE FROM {schema}.snapshots"
    )  # else a start reads only what follows it
    sql(
        served,
        f"UPDATE {schema}.records SET line = replace(line, 'kept', 'lost') WHERE type = 'queued' AND job_id = 1",
    )
    verified = eventjobs("journal", "verify", served)
    assert verified.returncode == 1
    assert f"DAMAGED: {served}, table {schema}.records, row seq=1" in verified.stdout
    assert "does not match its hash (it was edited)" in verified.stdout
    # The replay runs once the server listens, so the sentence ends its logs.
    message = final_sentence(
        eventjobs("serve", "--bind", f"127.0.0.1:{free_port()}", "--journal", served)
    )
    assert f"table {schema}.records, row seq=1" in message
    assert "does not match its hash" in message


# -- audit and copy -----------------------------------------------------------------------


def test_copy_file_to_postgres_to_file_keeps_every_line(
    tmp_path: Path, pg_url: str
) -> None:
    original = str(tmp_path / "original")
    with server_process("--journal", original) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for n in range(5):
                job = submit(client, "/_admin/echo", content=f"job {n} ✓".encode())
                wait_until(
                    lambda job=job: client.get(f"/_api/job/{job}").status_code == 200,
                    "done",
                )
            client.put(f"/_api/job/{job}")
    to_pg = eventjobs("journal", "copy", original, pg_url)
    assert to_pg.returncode == 0, to_pg.stderr
    back = str(tmp_path / "back")
    to_file = eventjobs("journal", "copy", pg_url, back)
    assert to_file.returncode == 0, to_file.stderr
    assert to_pg.stdout.split("last hash ")[1] == to_file.stdout.split("last hash ")[1]

    def lines(directory: str) -> bytes:
        return b"".join(path.read_bytes() for path in segment_paths(Path(directory)))

    assert lines(back) == lines(original)
    rows = sql(pg_url, f"SELECT line FROM {schema_of(pg_url)}.records ORDER BY seq")
    assert "".join(row[0] + "\n" for row in rows).encode() == lines(original)

    # Every audit command reads the copy in PostgreSQL as it reads the file.
    for command in (
        ["verify"],
        ["stats"],
        ["log"],
        ["show", "5", "--body"],
        ["replay"],
        ["export", "--format", "csv"],
    ):
        on_file = eventjobs("journal", command[0], original, *command[1:])
        on_pg = eventjobs("journal", command[0], pg_url, *command[1:])
        assert on_file.returncode == on_pg.returncode == 0, (command, on_pg.stderr)
        assert on_pg.stdout == on_file.stdout, command

    refused = one_line_error(
        eventjobs("journal", "copy", original, pg_url), "eventjobs journal copy: "
    )
    assert "already holds" in refused


def test_prune_refuses_a_postgres_journal(served: str) -> None:
    message = one_line_error(
        eventjobs("journal", "prune", served, "--before", "2020-01-01"),
        "eventjobs journal prune: ",
    )
    assert "is a PostgreSQL journal; prune works on journal directories only" in message


def test_audit_of_a_schema_without_a_journal(pg_url: str) -> None:
    message = one_line_error(
        eventjobs("journal", "verify", pg_url), "eventjobs journal verify: "
    )
    assert "there is no eventjobs journal at" in message


def test_the_server_carries_on_when_the_database_drops_its_connections(
    pg_url: str,
) -> None:
    """A database restart as the server sees it: every connection is cut.
    Submissions get 503 until the writer's retry reconnects, then go on; every
    accepted job keeps its result and the journal verifies."""
    with server_process("--journal", pg_url) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            first = submit(client, "/_admin/echo", content=b"before")
            # Once it is done the writer is idle: the next append is ours.
            wait_until(
                lambda: client.get(f"/_api/job/{first}").status_code == 200, "done"
            )
            sql(
                pg_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE %s",
                (f"eventjobs pid {server.process.pid} %",),
            )
            statuses: list[int] = []

            def accepted() -> bool:
                response = client.put("/_admin/echo", headers=STORE, content=b"after")
                statuses.append(response.status_code)
                assert response.status_code in (202, 503), response.text
                return response.status_code == 202

            wait_until(accepted, "a submission accepted again")
            jobs = {
                first,
                *client.get("/_api/job/pending").json(),
                *client.get("/_api/job/done").json(),
            }
            assert len(jobs) == 2
            for job in jobs:
                wait_until(
                    lambda job=job: client.get(f"/_api/job/{job}").status_code == 200,
                    "done",
                )
                assert client.put(f"/_api/job/{job}").status_code == 200
        assert server.stop() == 0
    assert statuses[0] == 503  # its append met the cut connection; nothing was kept
    assert "journal append failed (retrying" in server.text
    assert eventjobs("journal", "verify", pg_url).stdout.startswith("ok: ")


def test_the_server_carries_on_while_the_database_cannot_be_read_either(
    pg_url: str,
) -> None:
    """A database that fails for a while, reads included (here its records
    table is renamed away). The node keeps answering 503 and trying, and
    serves again once the table is back; the job that ran before keeps its
    result and the journal verifies."""
    schema = schema_of(pg_url)
    with server_process("--journal", pg_url, "--shutdown-timeout", "0") as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            first = submit(client, "/_admin/echo", content=b"before")
            wait_until(
                lambda: client.get(f"/_api/job/{first}").status_code == 200, "done"
            )
            sql(pg_url, f"ALTER TABLE {schema}.records RENAME TO records_away")
            try:
                refused = client.put("/_admin/echo", headers=STORE, content=b"lost")
                assert refused.status_code == 503, refused.text
                wait_until(
                    lambda: server.text.count("journal append failed") >= 1, "the log"
                )

                def failed_again() -> bool:
                    # Refused at once during the back-off, then tried again.
                    response = client.put(
                        "/_admin/echo", headers=STORE, content=b"lost"
                    )
                    assert response.status_code == 503, response.text
                    return server.text.count("journal append failed") >= 2

                wait_until(failed_again, "a second failed append logged")
                assert (
                    client.get(f"/_api/job/{first}").status_code == 200
                )  # reads go on
            finally:
                sql(pg_url, f"ALTER TABLE {schema}.records_away RENAME TO records")

            def accepted() -> bool:
                response = client.put("/_admin/echo", headers=STORE, content=b"after")
                assert response.status_code in (202, 503), response.text
                return response.status_code == 202

            wait_until(accepted, "a submission accepted again", timeout=30)
            assert client.put(f"/_api/job/{first}").status_code == 200
        assert server.stop() == 0, server.text
    assert "Traceback" not in server.text, server.text
    assert eventjobs("journal", "verify", pg_url).stdout.startswith("ok: ")
