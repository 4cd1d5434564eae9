"""A PostgreSQL server for the tests: the machine's own, or a throwaway cluster.

:func:`find_server` prefers the local server at 127.0.0.1:5432 (trust auth,
user ``postgres``), starting it with ``pg_ctlcluster`` if it is installed but
stopped; otherwise it starts a throwaway cluster with ``initdb`` and
``pg_ctl`` in a temporary directory. ``EVENTJOBS_TEST_POSTGRES=throwaway``
forces the throwaway cluster (the tests of that path set it explicitly).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs
import psycopg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FORCE_VARIABLE = "EVENTJOBS_TEST_POSTGRES"


class NoPostgres(Exception):
    """No PostgreSQL server is reachable and none can be started here."""


@attrs.define
class Server:
    #: Connects as a superuser to the ``postgres`` database.
    admin_url: str
    #: "local" or "throwaway".
    kind: str
    stop: Callable[[], None] = lambda: None
    #: A throwaway cluster's database server can be stopped (as by a crash:
    #: ``pg_ctl stop -m immediate``) and started again on the same port.
    halt: Callable[[], None] | None = None
    resume: Callable[[], None] | None = None

    def url(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database


def reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def find_server() -> Server:
    """The local server if it answers (started if need be), else a throwaway one."""
    if os.environ.get(FORCE_VARIABLE) != "throwaway":
        if reachable(LOCAL_URL):
            return Server(LOCAL_URL, "local")
        clusters = (
            sorted(os.listdir("/etc/postgresql"))
            if os.path.isdir("/etc/postgresql")
            else []
        )
        if clusters and shutil.which("pg_ctlcluster"):
            subprocess.run(
                [
                    "pg_ctlcluster",
                    "--skip-systemctl-redirect",
                    clusters[-1],
                    "main",
                    "start",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
            if reachable(LOCAL_URL):
                return Server(LOCAL_URL, "local")
    return start_throwaway(Path(tempfile.mkdtemp(prefix="eventjobs-pg-")))


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def start_throwaway(directory: Path) -> Server:
    """initdb a cluster in *directory* and start it on a free port.

    PostgreSQL refuses to run as root, so as root the cluster belongs to
    the ``postgres`` user (or ``nobody``).

    Raises:
        NoPostgres: no PostgreSQL binaries exist on this machine.
    """
    bin_dir = binaries()
    if bin_dir is None:
        raise NoPostgres(
            "no PostgreSQL binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; "
            "install them (apt-get install -y postgresql) to run the PostgreSQL journal tests"
        )
    data = directory / "data"
    user = _unprivileged_user()
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=_become(user) if user is not None else None,
            cwd=directory,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
            )

    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
    )

    def resume() -> None:
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(directory / "log"),
            "-w",
            "-o",
            f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def halt() -> None:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")

    def stop() -> None:
        try:
            halt()
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    resume()
    return Server(
        f"postgresql://postgres@127.0.0.1:{port}/postgres",
        "throwaway",
        stop,
        halt,
        resume,
    )


def _unprivileged_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise NoPostgres(
        "running as root and there is no 'postgres' or 'nobody' user to run initdb"
    )


def _become(user: pwd.struct_passwd) -> Callable[[], None]:
    def demote() -> None:
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return demote


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
