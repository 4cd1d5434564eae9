"""``eventjobs serve --workers N``: N server processes on one address.

The parent binds the address once and starts N ``eventjobs serve`` processes
that all accept on that socket (``--listen-fd``): the kernel spreads the
connections among them. Each is a node of the shared PostgreSQL journal
(the command line refuses N > 1 on a journal directory, which admits one
process). The parent serves nothing itself: it forwards SIGINT and SIGTERM
to the workers, and the workers live and die together: when one exits on
its own (its journal failed, it lost its lease), the parent stops the
others and exits with that worker's status, so that whatever supervises
the server (systemd, a container runtime) restarts the whole of it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

from .errors import ConfigError
from .settings import parse_bind

log = logging.getLogger("eventjobs.workers")

#: How long the workers get to stop after the signal is passed on (their
#: own drain, --shutdown-timeout, comes first).
STOP_GRACE_SECONDS = 60.0


def worker_arguments(arguments: Sequence[str], fd: int) -> list[str]:
    """*arguments* of ``eventjobs serve`` for one worker: ``--workers``
    dropped, the inherited socket added."""
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument == "--workers":
            skip = True
            continue
        if argument.startswith("--workers="):
            continue
        kept.append(argument)
    return [*kept, "--listen-fd", str(fd)]


#: What a worker runs: this very package (its folder is the first argument),
#: whatever the current folder holds.
_WORKER_MAIN = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from eventjobs.cli import main; sys.exit(main())"
)


def worker_command() -> list[str]:
    """The command line that starts a worker, before its arguments.

    Not ``python -m eventjobs``: that puts the current folder first on the
    path, where a folder named ``eventjobs`` (a clone, seen from the folder
    holding it) can shadow the package. ``-P`` leaves the current folder
    out, and the folder this package was imported from comes first, so
    that every worker runs the code the parent runs.
    """
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [sys.executable, "-P", "-c", _WORKER_MAIN, package_root]


def run_workers(arguments: Sequence[str], bind: str, count: int) -> int:
    """Serve with *count* worker processes on *bind*; return the exit status."""
    try:
        listener = _listen(bind)
    except ConfigError as error:
        print(f"eventjobs: {error}", file=sys.stderr)
        return 1
    fd = listener.fileno()
    command = [*worker_command(), *worker_arguments(arguments, fd)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    workers: list[subprocess.Popen[bytes]] = []
    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        for _ in range(count):
            workers.append(subprocess.Popen(command, pass_fds=(fd,)))
            if stopping:
                break  # a signal came meanwhile (passed on below): start no more
        listener.close()  # the workers hold it now
        if stopping:
            stop(signal.SIGTERM, None)  # the workers started after it must stop too
        status = _wait_for_first_exit(workers)
        if not stopping:
            print(
                f"eventjobs: a worker process exited (status {status}); stopping the others",
                file=sys.stderr,
                flush=True,
            )
            stop(signal.SIGTERM, None)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in workers:
            try:
                code = worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                code = worker.wait()
            status = status or code
        return (
            0 if stopping and status in (0, -signal.SIGTERM, -signal.SIGINT) else status
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_for_first_exit(workers: list[subprocess.Popen[bytes]]) -> int:
    while True:
        for worker in workers:
            code = worker.poll()
            if code is not None:
                return code
        time.sleep(0.1)


def _listen(bind: str) -> socket.socket:
    host, port = parse_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {bind}: {error.strerror or error}; stop what uses it or "
            "pass another --bind"
        ) from None
    listener.set_inheritable(True)
    return listener
