"""The users file and ``eventjobs users``: scrypt hashes, refusals of unsafe
or malformed files, and the commands that manage it."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from eventjobs import users
from eventjobs.cli import main
from eventjobs.errors import ConfigError
from tests.support import free_port, write_users_file


def test_a_hash_verifies_its_password():
    """verify_password accepts the password a hash was made from."""
    assert users.verify_password("s3cret", users.hash_password("s3cret", cost=16))


def test_a_hash_refuses_another_password():
    """verify_password refuses any other password."""
    assert not users.verify_password("s3cret!", users.hash_password("s3cret", cost=16))


def test_hashes_are_salted():
    """Two hashes of one password differ, and neither contains it."""
    first, second = users.hash_password("same"), users.hash_password("same")
    assert first != second
    assert "same" not in first
    assert first.startswith(f"scrypt${users.SCRYPT_N}$")


def test_a_malformed_hash_never_verifies():
    """A hash that does not parse matches nothing."""
    assert not users.verify_password("", "scrypt$1$2$3$x$y")


def test_saved_file_is_readable_by_its_owner_only(tmp_path):
    """save() writes mode 0600."""
    path = write_users_file(tmp_path / "users.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_saved_file_loads_back(tmp_path):
    """load(save(users)) gives the same users."""
    path = write_users_file(tmp_path / "users.json")
    loaded = users.load(path)
    assert {name: user.superuser for name, user in loaded.items()} == {
        "alice": False,
        "bob": False,
        "root": True,
    }


def test_world_writable_file_is_refused(tmp_path):
    """Anyone could add a superuser to a world-writable file: refused."""
    path = write_users_file(tmp_path / "users.json")
    os.chmod(path, 0o666)
    with pytest.raises(ConfigError, match="world-writable"):
        users.load(path)


def test_missing_file_is_refused(tmp_path):
    """A users file that cannot be read is refused, naming the file."""
    with pytest.raises(ConfigError, match="cannot be read"):
        users.load(str(tmp_path / "absent.json"))


def test_a_directory_is_refused(tmp_path):
    """A directory is not a users file."""
    with pytest.raises(ConfigError, match="cannot be read|not a regular file"):
        users.load(str(tmp_path))


@pytest.mark.parametrize(
    "document, why",
    [
        ("{", "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        ('{"users": {}}', '"format"'),
        (
            '{"format": "eventjobs-users", "version": 1, "users": []}',
            '"users" must be an object',
        ),
        (
            '{"format": "eventjobs-users", "version": 1, "users": {"a": {"password": "x", "superuser": false}}}',
            "not a usable scrypt hash",
        ),
        (
            '{"format": "eventjobs-users", "version": 1, "users": {"a": {"password": "x"}}}',
            'exactly "password" and "superuser"',
        ),
        (
            '{"format": "eventjobs-users", "version": 1, "users": {"a:b": {"password": "x", "superuser": false}}}',
            "not valid",
        ),
    ],
)
def test_malformed_file_is_refused_saying_what_is_wrong(tmp_path, document, why):
    """Every malformation gets a ConfigError naming the file and the problem."""
    path = tmp_path / "users.json"
    path.write_text(document)
    with pytest.raises(ConfigError, match="users file") as caught:
        users.load(str(path))
    assert why in str(caught.value)


def test_a_hash_asking_for_huge_memory_is_refused(tmp_path):
    """A hash's cost is bounded, so a hostile file cannot exhaust memory."""
    hashed = users.hash_password("x", cost=16).replace("scrypt$16$", f"scrypt${2**30}$")
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                "format": "eventjobs-users",
                "version": 1,
                "users": {"a": {"password": hashed, "superuser": False}},
            }
        )
    )
    with pytest.raises(ConfigError, match="power of 2"):
        users.load(str(path))


# -- eventjobs users ---------------------------------------------------------------------


def run_users(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = main(["users", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_users_add_then_list(tmp_path, monkeypatch, capsys):
    """add creates the file; list shows names and who is superuser."""
    path = str(tmp_path / "users.json")
    assert (
        run_users(
            monkeypatch,
            capsys,
            "add",
            "--file",
            path,
            "ann",
            "--password-stdin",
            stdin="pw-ann\n",
        )[0]
        == 0
    )
    assert (
        run_users(
            monkeypatch,
            capsys,
            "add",
            "--file",
            path,
            "sue",
            "--superuser",
            "--password-stdin",
            stdin="pw-sue\n",
        )[0]
        == 0
    )
    status, out, _ = run_users(monkeypatch, capsys, "list", "--file", path)
    assert (status, out) == (0, "ann\nsue (superuser)\n")


def test_users_add_stores_only_a_hash(tmp_path, monkeypatch, capsys):
    """The password read from stdin verifies, and is nowhere in the file."""
    path = tmp_path / "users.json"
    run_users(
        monkeypatch,
        capsys,
        "add",
        "--file",
        str(path),
        "ann",
        "--password-stdin",
        stdin="pw-ann-xyz\n",
    )
    assert b"pw-ann-xyz" not in path.read_bytes()
    assert users.verify_password(
        "pw-ann-xyz", users.load(str(path))["ann"].password_hash
    )


def test_users_passwd_changes_the_password_and_keeps_the_flag(
    tmp_path, monkeypatch, capsys
):
    """passwd replaces the hash; the superuser flag stays."""
    path = str(tmp_path / "users.json")
    run_users(
        monkeypatch,
        capsys,
        "add",
        "--file",
        path,
        "sue",
        "--superuser",
        "--password-stdin",
        stdin="old\n",
    )
    assert (
        run_users(
            monkeypatch,
            capsys,
            "passwd",
            "--file",
            path,
            "sue",
            "--password-stdin",
            stdin="new\n",
        )[0]
        == 0
    )
    sue = users.load(path)["sue"]
    assert sue.superuser and users.verify_password("new", sue.password_hash)
    assert not users.verify_password("old", sue.password_hash)


def test_users_remove_removes(tmp_path, monkeypatch, capsys):
    """remove deletes the user."""
    path = str(tmp_path / "users.json")
    run_users(
        monkeypatch,
        capsys,
        "add",
        "--file",
        path,
        "ann",
        "--password-stdin",
        stdin="pw\n",
    )
    assert run_users(monkeypatch, capsys, "remove", "--file", path, "ann")[0] == 0
    assert users.load(path) == {}


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (
            ["add", "--file", "{f}", "alice", "--password-stdin"],
            "x\n",
            "already exists",
        ),
        (["remove", "--file", "{f}", "nobody"], "", "there is no user 'nobody'"),
        (
            ["passwd", "--file", "{f}", "nobody", "--password-stdin"],
            "x\n",
            "there is no user 'nobody'",
        ),
        (
            ["add", "--file", "{f}", "dan", "--password-stdin"],
            "\n",
            "password is empty",
        ),
        (["add", "--file", "{f}", "dan"], "", "pass --password-stdin"),
        (["add", "--file", "{f}", "a:b", "--password-stdin"], "x\n", "not valid"),
    ],
)
def test_users_command_failure_is_one_sentence_and_changes_nothing(
    tmp_path, monkeypatch, capsys, args, stdin, message
):
    """A failing users command exits 1 with one sentence and leaves the file alone."""
    path = write_users_file(tmp_path / "users.json")
    before = Path(path).read_bytes()
    status, _out, err = run_users(
        monkeypatch, capsys, *[arg.format(f=path) for arg in args], stdin=stdin
    )
    assert status == 1
    assert err.startswith("eventjobs: ") and err.count("\n") == 1
    assert message in err
    assert Path(path).read_bytes() == before


@pytest.mark.parametrize("problem", ["world-writable", "malformed", "missing"])
def test_serve_refuses_an_unusable_users_file_with_one_sentence(tmp_path, problem):
    """eventjobs serve --users FILE stops before listening when FILE is unusable."""
    path = tmp_path / "users.json"
    if problem == "world-writable":
        write_users_file(path)
        os.chmod(path, 0o646)
    elif problem == "malformed":
        path.write_text("not json")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventjobs",
            "serve",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--journal",
            ":memory:",
            "--users",
            str(path),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("eventjobs: users file"), (
        result.stderr
    )
    assert "listening on" not in result.stdout


def test_serve_refuses_a_short_jwt_secret(tmp_path):
    """A JWT secret shorter than 32 bytes is refused at start."""
    secret = tmp_path / "secret"
    secret.write_text("short")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventjobs",
            "serve",
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--journal",
            ":memory:",
            "--users",
            write_users_file(tmp_path / "u.json"),
            "--jwt-secret-file",
            str(secret),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert (
        result.stderr.startswith("eventjobs: JWT secret file")
        and "at least 32" in result.stderr
    )
