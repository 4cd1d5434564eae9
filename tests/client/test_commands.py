"""Every ``eventjobs job`` subcommand against a real server, run as a user
runs it: a subprocess, checked by its stdout, stderr and exit code."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from eventjobs.cli import main
from tests.client.helpers import client_env, job
from tests.support import ServerProcess

pytestmark = pytest.mark.e2e


def submitted(server: ServerProcess, *args: str) -> int:
    """Submit through the client; the job id it printed."""
    result = job("submit", *args, url=server.url)
    assert (result.returncode, result.stderr) == (0, ""), result
    assert result.stdout.strip().isdigit(), result.stdout
    return int(result.stdout)


def status_code(server: ServerProcess, job_id: int) -> int:
    return httpx.get(f"{server.url}/_api/job/{job_id}").status_code


# -- submit, status, fetch ---------------------------------------------------------


def test_submit_prints_the_id_and_fetch_prints_the_body(server: ServerProcess):
    """submit prints the id alone; fetch --wait prints the stored body byte
    for byte (no newline added on a pipe), exit 0, nothing on stderr."""
    job_id = submitted(server, "PUT", "/_admin/echo?x=1", "--data", "hello")
    result = job("fetch", str(job_id), "--wait", url=server.url)
    assert (result.returncode, result.stderr) == (0, "")
    echoed = json.loads(result.stdout)
    assert (echoed["method"], echoed["body"], echoed["query"]) == (
        "PUT",
        "hello",
        {"x": ["1"]},
    )
    assert result.stdout == result.stdout.rstrip("\n")  # the body exactly


def test_status_says_pending_then_done_and_never_removes(
    server: ServerProcess, tmp_path: Path
):
    gate = tmp_path / "gate"
    job_id = submitted(server, "POST", f"/gated?gate={gate}")
    result = job("status", str(job_id), url=server.url)
    assert result.returncode == 0
    # The job reports 50% before it waits for the gate; the status may come
    # before that report is recorded.
    assert result.stdout in ("pending\n", "pending 50% halfway there\n")
    gate.touch()
    assert (
        job("fetch", str(job_id), "--wait", "--timeout", "30", url=server.url).stdout
        == "all done"
    )
    # Fetched: it is gone.
    gone = job("status", str(job_id), url=server.url)
    assert (gone.returncode, gone.stdout) == (3, "")


def test_status_of_a_done_job(server: ServerProcess):
    job_id = submitted(server, "GET", "/_admin/time")
    httpx.get(f"{server.url}/_api/job/{job_id}", headers={"x-eventjobs-wait": "30"})
    result = job("status", str(job_id), url=server.url)
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")
    assert status_code(server, job_id) == 200  # status left the result in place


def test_status_shows_progress(server: ServerProcess, tmp_path: Path):
    """A pending job's latest progress report is part of its status."""
    gate = tmp_path / "gate"
    job_id = submitted(server, "POST", f"/gated?gate={gate}")
    try:
        for _ in range(600):  # bounded: the report is recorded within moments
            result = job("status", str(job_id), url=server.url)
            if result.stdout != "pending\n":
                break
        assert (result.returncode, result.stdout) == (0, "pending 50% halfway there\n")
    finally:
        gate.touch()


def test_submit_wait_prints_only_the_body(server: ServerProcess):
    """--wait: the result body on stdout, nothing on stderr (not a terminal:
    no spinner)."""
    result = job(
        "submit", "POST", "/_admin/sleep?duration=0.2", "--wait", url=server.url
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout) == {"code": 200, "duration": 0.2, "error": False}


def test_data_from_a_file_and_headers(server: ServerProcess, tmp_path: Path):
    """--data @FILE sends the file's bytes; --header adds request headers,
    which the job sees."""
    body = tmp_path / "body.json"
    body.write_text('{"größe": 1}\n', encoding="utf-8")
    result = job(
        "submit",
        "POST",
        "/_admin/echo",
        "--data",
        f"@{body}",
        "--header",
        "content-type: application/json",
        "-H",
        "X-Trace:abc:def",
        "--wait",
        url=server.url,
    )
    assert result.returncode == 0, result
    echoed = json.loads(result.stdout)
    assert echoed["body"] == '{"größe": 1}\n'
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["x-trace"] == "abc:def"


def test_data_from_stdin(server: ServerProcess):
    result = job(
        "submit",
        "PUT",
        "/_admin/echo",
        "--data",
        "@-",
        "--wait",
        url=server.url,
        input=b"from a pipe\n",
    )
    assert result.returncode == 0, result
    assert json.loads(result.stdout)["body"] == "from a pipe\n"


def test_an_error_result_exits_1_and_says_so(server: ServerProcess):
    """A job whose result is not 2xx: the body on stdout, exit 1, one line on stderr."""
    result = job(
        "submit", "POST", "/_admin/sleep?duration=soon", "--wait", url=server.url
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)["errorMessage"].startswith(
        "bad parameter: duration must be"
    )
    assert result.stderr.endswith("answered 400 Bad Request\n")
    assert result.stderr.count("\n") == 1


def test_cancel_then_fetch_gives_the_410(server: ServerProcess):
    job_id = submitted(server, "POST", "/_admin/sleep?duration=60")
    result = job("cancel", str(job_id), url=server.url)
    assert (result.returncode, result.stdout) == (
        0,
        f"job {job_id}: cancel requested\n",
    )
    fetched = job("fetch", str(job_id), "--wait", url=server.url)
    assert fetched.returncode == 1
    assert json.loads(fetched.stdout)["errorMessage"] == "canceled request"
    assert "answered 410 Gone" in fetched.stderr


def test_fetch_of_a_pending_job_exits_6_and_leaves_it(server: ServerProcess):
    job_id = submitted(server, "POST", "/_admin/sleep?duration=60")
    try:
        result = job("fetch", str(job_id), url=server.url)
        assert (result.returncode, result.stdout) == (6, "")
        assert f"job {job_id} is pending" in result.stderr
        timed = job("fetch", str(job_id), "--wait", "--timeout", "0.3", url=server.url)
        assert (timed.returncode, timed.stdout) == (6, "")
        assert "still pending after 0.3 s; it is left alone" in timed.stderr
        assert status_code(server, job_id) == 204
    finally:
        httpx.delete(f"{server.url}/_api/job/{job_id}")


def test_verbose_traces_requests_on_stderr(server: ServerProcess):
    result = job("-v", "submit", "GET", "/_api/version", "--wait", url=server.url)
    assert result.returncode == 0
    assert json.loads(result.stdout)["server"] == "eventjobs"
    lines = result.stderr.splitlines()
    assert lines[0] == "> GET /_api/version"
    assert "< 202 Accepted" in lines
    job_id = next(line.split()[1] for line in lines if line.endswith(" submitted"))
    assert f"> PUT /_api/job/{job_id}" in lines
    assert f"< x-arango-async-id: {job_id}" in lines


# -- not found, refused, usage -------------------------------------------------------


@pytest.mark.parametrize("action", ["status", "fetch", "cancel", "delete"])
def test_an_unknown_job_exits_3(server: ServerProcess, action: str):
    result = job(action, "987654321", url=server.url)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"eventjobs job {action}: no job 987654321: unknown, already fetched, deleted, "
        "or not yours\n"
    )


def test_a_refused_submission_exits_1_with_the_servers_reason(server: ServerProcess):
    """The server refuses a submission (here a malformed x-eventjobs-timeout,
    answered 400 before anything is queued): exit 1, its reason quoted."""
    result = job(
        "submit",
        "GET",
        "/_admin/time",
        "-H",
        "x-eventjobs-timeout: soon",
        url=server.url,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "eventjobs job submit: GET /_admin/time was not accepted as a job: 400 Bad Request, "
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["status", "abc"], "'abc' is not a job id"),
        (["status", "0"], "'0' is not a job id"),
        (["fetch"], "the following arguments are required: ID"),
        (["submit", "GET", "no-slash"], "'no-slash' is not a path"),
        (["submit", "GET", "/a b"], "percent-encode them"),
        (["submit", "G T", "/"], "is not an HTTP method"),
        (["submit", "GET", "/", "-H", "novalue"], "write NAME:VALUE"),
        (
            ["submit", "GET", "/", "-H", "x-arango-async: true"],
            "sets the x-arango-async header",
        ),
        (["submit", "GET", "/", "--data", "@/no/such/file"], "cannot read --data file"),
        (["submit", "GET", "/", "--timeout", "5"], "--timeout goes with --wait"),
        (
            ["fetch", "1", "--wait", "--timeout", "-1"],
            "not a number of seconds above 0",
        ),
        (["delete", "expired"], "delete expired needs --before TIME"),
        (["delete", "all", "--before", "0"], "--before goes with delete expired only"),
        (["delete", "expired", "--before", "yesterday"], "'yesterday' is not a time"),
        (["delete", "some"], "neither a job id nor 'all' nor 'expired'"),
        (["list", "everything"], "invalid choice: 'everything'"),
        (["list", "done", "--count", "0"], "'0' is not a whole number of 1 or more"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--url", "ftp://host", "list", "done"], "is not an http:// or https:// URL"),
        (
            ["--url", "http://alice:pw@host", "list", "done"],
            "must not hold credentials",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_precise_message(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
):
    """Checked before anything is sent (no server needed). In-process, for
    speed: the same parser and checks as the command (the next test runs it)."""
    with pytest.raises(SystemExit) as exit:
        main(["job", *args])
    assert exit.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert complaint in err


def test_a_usage_error_from_the_command_itself():
    """The real command: exit 2, usage and the complaint on stderr, no traceback."""
    result = job("delete", "expired", "--before", "yesterday")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("usage: eventjobs job delete")
    assert result.stderr.endswith(
        "eventjobs job delete: error: argument --before: 'yesterday' is not a time: give unix "
        "seconds (1764417600) or ISO 8601 (2026-11-29T12:00:00Z)\n"
    )


def test_options_before_or_after_the_action_and_from_the_environment(
    server: ServerProcess,
):
    for args, env in (
        (["--url", server.url, "list", "done"], {}),
        (["list", "done", "--url", server.url], {}),
        (["list", "done"], {"EVENTJOBS_URL": server.url}),
        # The option wins over the variable.
        (
            ["--url", server.url, "list", "done"],
            {"EVENTJOBS_URL": "http://127.0.0.1:1"},
        ),
    ):
        result = job(*args, env=env)
        assert (result.returncode, result.stderr) == (0, ""), (args, result)


# -- Ctrl-C ------------------------------------------------------------------------


def test_ctrl_c_while_waiting_leaves_the_job_alone(server: ServerProcess):
    """SIGINT during --wait: exit 130, a message saying the job is left as it
    was, and the job is indeed still pending (not cancelled)."""
    client = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eventjobs",
            "job",
            "--url",
            server.url,
            "-v",
            "submit",
            "POST",
            "/_admin/sleep?duration=60",
            "--wait",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=client_env(),
        text=True,
        start_new_session=True,
    )
    assert client.stderr is not None
    job_id = None
    for line in client.stderr:  # bounded by the client's own progress
        if line.endswith(" submitted\n"):
            job_id = int(line.split()[1])
        if job_id is not None and line == f"> GET /_api/job/{job_id}\n":
            break  # it is waiting now
    assert job_id is not None
    client.send_signal(signal.SIGINT)
    rest = client.stderr.read()
    assert client.wait(timeout=30) == 130
    assert client.stdout is not None and client.stdout.read() == ""
    assert f"interrupted: job {job_id} is left as it was" in rest
    assert f"'eventjobs job fetch {job_id} --wait'" in rest
    assert "Traceback" not in rest
    assert status_code(server, job_id) == 204
    assert httpx.put(f"{server.url}/_api/job/{job_id}/cancel").status_code == 200
