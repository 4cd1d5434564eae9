"""The servers of one scaling configuration: a journal and N processes on it.

Two ways to run N processes on one PostgreSQL journal:

- ``workers``: one ``eventjobs serve --workers N`` (N processes sharing one
  bind; the kernel spreads the connections over them);
- ``ports``: N separate ``eventjobs serve`` processes on N ports, each a
  node; the load generator spreads its connections over the ports.

The file journal takes one process only; it is the baseline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs

from . import postgres as bench_postgres
from .server import Server, running_server

MODES = ("workers", "ports")


@attrs.frozen
class Configuration:
    """``journal`` is ``"file"`` or ``"postgresql"``."""

    journal: str
    processes: int

    @property
    def name(self) -> str:
        return f"{'file' if self.journal == 'file' else 'PG'} x{self.processes}"


@attrs.frozen
class Cluster:
    """The running servers: every URL to load, every process tree's root pid."""

    servers: tuple[Server, ...]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.process.pid for server in self.servers]


@contextlib.contextmanager
def running_cluster(
    configuration: Configuration, mode: str, postgres_url: str | None
) -> Iterator[Cluster]:
    """Start *configuration* on a fresh journal (a temporary directory, or a
    new schema of *postgres_url*'s database, dropped at the end); stop it at
    the end of the block. Nothing is pinned: the scaling figures are about
    sharing the machine's cores.

    Raises:
        ValueError: a file journal with more than one process, an unknown
            *mode*, or a PostgreSQL configuration without *postgres_url*.
        RuntimeError: a server did not start (its output says why).
    """
    if mode not in MODES:
        raise ValueError(
            f"unknown scaling mode {mode!r}: use one of {', '.join(MODES)}"
        )
    if configuration.journal == "file":
        if configuration.processes != 1:
            raise ValueError(
                "the file journal takes one server process; use PostgreSQL for more"
            )
        with running_server(None) as server:
            yield Cluster((server,))
        return
    if postgres_url is None:
        raise ValueError(
            f"{configuration.name} needs a PostgreSQL database (--postgres URL)"
        )
    with (
        bench_postgres.fresh_journal(postgres_url) as journal_url,
        contextlib.ExitStack() as stack,
    ):
        if mode == "workers":
            servers = [
                stack.enter_context(
                    running_server(
                        None, journal_url=journal_url, processes=configuration.processes
                    )
                )
            ]
        else:
            servers = [
                stack.enter_context(running_server(None, journal_url=journal_url))
                for _ in range(configuration.processes)
            ]
        yield Cluster(tuple(servers))
