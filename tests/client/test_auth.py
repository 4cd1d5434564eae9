"""``eventjobs job --user`` against a real server with authentication on:
the password from $EVENTJOBS_PASSWORD or a prompt, exit 5 when refused, and
ownership (another user's job is "not found")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.helpers import Terminal, client, job
from tests.support import (
    TEST_JWT_SECRET,
    TEST_USERS,
    ServerProcess,
    server_process,
    write_users_file,
)

pytestmark = pytest.mark.e2e

ALICE = {"EVENTJOBS_PASSWORD": TEST_USERS["alice"][0]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    where = tmp_path_factory.mktemp("auth")
    secret = where / "jwt-secret"
    secret.write_bytes(TEST_JWT_SECRET)
    with server_process(
        "--journal",
        str(where / "journal"),
        "--users",
        write_users_file(where / "users.json"),
        "--jwt-secret-file",
        str(secret),
        "--shutdown-timeout",
        "0",
    ) as running:
        yield running


def test_password_from_the_environment(server: ServerProcess):
    submitted = job(
        "--user", "alice", "submit", "GET", "/_admin/echo", url=server.url, env=ALICE
    )
    assert (submitted.returncode, submitted.stderr) == (0, ""), submitted
    job_id = submitted.stdout.strip()
    fetched = job(
        "fetch", job_id, "--wait", "--user", "alice", url=server.url, env=ALICE
    )
    assert fetched.returncode == 0, fetched
    assert '"user":"alice"' in fetched.stdout  # the job ran as alice


def test_user_from_the_environment_too(server: ServerProcess):
    result = job(
        "list", "done", url=server.url, env={"EVENTJOBS_USER": "alice", **ALICE}
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_no_credentials_exits_5_saying_what_to_pass(server: ServerProcess):
    result = job("list", "done", url=server.url)
    assert (result.returncode, result.stdout) == (5, "")
    assert result.stderr == (
        "eventjobs job list: 401: the server asks for credentials: pass --user NAME "
        "(password from $EVENTJOBS_PASSWORD or the prompt)\n"
    )


def test_a_wrong_password_exits_5(server: ServerProcess):
    result = job(
        "--user",
        "alice",
        "submit",
        "GET",
        "/_admin/time",
        url=server.url,
        env={"EVENTJOBS_PASSWORD": "not-it"},
    )
    assert (result.returncode, result.stdout) == (5, "")
    assert result.stderr == (
        "eventjobs job submit: 401: the server refused the credentials of 'alice': check the "
        "name and password\n"
    )


def test_another_users_job_is_not_found(server: ServerProcess):
    submitted = job(
        "--user",
        "alice",
        "submit",
        "POST",
        "/_admin/sleep?duration=0",
        url=server.url,
        env=ALICE,
    )
    job_id = submitted.stdout.strip()
    bob = {"EVENTJOBS_PASSWORD": TEST_USERS["bob"][0]}
    for action in ("status", "fetch", "cancel", "delete"):
        result = job(action, job_id, "--user", "bob", url=server.url, env=bob)
        assert result.returncode == 3, (action, result)
    still = job("status", job_id, "--user", "alice", url=server.url, env=ALICE)
    assert (still.returncode, still.stdout) in ((0, "done\n"), (0, "pending\n"))


def test_no_password_and_no_terminal_exits_2(server: ServerProcess):
    """Without $EVENTJOBS_PASSWORD and without a terminal to prompt on, the
    client refuses (it never reads a password from stdin, which may be --data)."""
    result = job(
        "--user", "alice", "list", "done", url=server.url, input=b"alice-pw-4f1d\n"
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.endswith(
        "error: no password for 'alice': set EVENTJOBS_PASSWORD, or run where a terminal "
        "can prompt for it\n"
    )


def test_password_prompt_on_the_terminal(server: ServerProcess):
    """The prompt names user and server; what is typed is not echoed."""
    password = TEST_USERS["alice"][0]
    terminal = Terminal.run("--url", server.url, "--user", "alice", "list", "pending")
    terminal.read_until(f"password for alice at {server.url}: ")
    terminal.write(password + "\n")
    assert terminal.finish() == 0, terminal.text()
    assert password not in terminal.text()


def test_a_wrong_password_typed_at_the_prompt(server: ServerProcess):
    terminal = Terminal.run("--url", server.url, "--user", "alice", "list", "pending")
    terminal.read_until("password for alice")
    terminal.write("wrong\n")
    assert terminal.finish() == 5
    assert "refused the credentials of 'alice'" in terminal.text()


def test_ctrl_c_at_the_prompt(server: ServerProcess):
    terminal = Terminal.run("--url", server.url, "--user", "alice", "list", "pending")
    terminal.read_until("password for alice")
    terminal.write("\x03")  # the terminal turns it into SIGINT
    assert terminal.finish() == 130
    assert "eventjobs job list: interrupted" in terminal.text()
    assert "Traceback" not in terminal.text()


def test_schedules_use_the_same_credentials_and_are_their_owners(
    server: ServerProcess,
):
    def schedule(*args: str, env: dict[str, str] | None = None):
        return client("schedule", *args, url=server.url, env=env)

    refused = schedule("list")
    assert refused.returncode == 5
    assert "pass --user NAME" in refused.stderr
    added = schedule(
        "add", "--every", "3600", "GET", "/_api/version", "--user", "alice", env=ALICE
    )
    assert (added.returncode, added.stderr) == (0, ""), added
    schedule_id = added.stdout.strip()
    mine = schedule("list", env={"EVENTJOBS_USER": "alice", **ALICE})
    assert mine.stdout.splitlines()[1].startswith(f"{schedule_id} ")
    bob = {"EVENTJOBS_USER": "bob", "EVENTJOBS_PASSWORD": TEST_USERS["bob"][0]}
    assert schedule("list", env=bob).stdout.splitlines()[1:] == []
    assert schedule("remove", schedule_id, env=bob).returncode == 3
    assert schedule("remove", schedule_id, "--user", "alice", env=ALICE).returncode == 0
