"""Running ``python -m eventjobs job ...`` as a user would: as a subprocess
with pipes, or on a pseudo-terminal (for the spinner and the password prompt)."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping

import attrs

#: Variables of the client that must not leak in from the developer's shell.
CLIENT_VARIABLES = ("EVENTJOBS_URL", "EVENTJOBS_USER", "EVENTJOBS_PASSWORD")


def client_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in CLIENT_VARIABLES
    }
    env.update(extra or {})
    return env


def job(
    *args: str,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m eventjobs job [--url URL] ARGS`` with pipes (no
    terminal: stdin is /dev/null unless *input*, and a new session, so there
    is no /dev/tty to prompt on either). Output is decoded as UTF-8."""
    return client("job", *args, url=url, env=env, input=input, timeout=timeout)


def client(
    command: str,
    *args: str,
    url: str | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m eventjobs COMMAND [--url URL] ARGS`` as :func:`job` does."""
    command_line = [sys.executable, "-m", "eventjobs", command]
    if url is not None:
        command_line += ["--url", url]
    result = subprocess.run(
        [*command_line, *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
        env=client_env(env),
        timeout=timeout,
        start_new_session=True,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


@attrs.define
class Terminal:
    """``python -m eventjobs job ARGS`` on a pseudo-terminal of 120 columns:
    stdin, stdout and stderr are the terminal, which is also its /dev/tty."""

    pid: int
    fd: int
    output: bytearray = attrs.field(factory=bytearray)
    exit_code: int | None = None

    @classmethod
    def run(cls, *args: str, env: Mapping[str, str] | None = None) -> Terminal:
        environment = client_env({"TERM": "xterm", **(env or {})})
        argv = [sys.executable, "-m", "eventjobs", "job", *args]
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the client
            try:
                os.execve(sys.executable, argv, environment)
            finally:
                os._exit(127)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        return cls(pid, fd)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        """Read what is there (waiting up to *timeout*); False at the end."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError as error:  # Linux: EIO once the child has gone
            if error.errno != errno.EIO:
                raise
            return False
        self.output += chunk
        return bool(chunk)

    def read_until(self, text: str, timeout: float = 30) -> str:
        """Read until *text* has appeared (bounded); everything so far."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(
                    f"{text!r} did not appear; the terminal shows:\n{self.text()}"
                )
        return self.text()

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def finish(self, timeout: float = 60) -> int:
        """Read to the end and reap the client; its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(0.1):
            if time.monotonic() > deadline:
                os.kill(self.pid, 9)
                raise AssertionError(f"the client did not finish:\n{self.text()}")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code
