"""Who used the machine's CPU during a load: the servers, PostgreSQL, the
load generator, and everything else.

On a small machine the servers, PostgreSQL and the load generator share the
same cores, so a throughput figure means little without knowing how the
cores were split. :func:`sample` reads the counters (Linux ``/proc``, and
``getrusage`` for the generators, which are this process's children and are
reaped when their run ends); :func:`shares` turns two samples into shares of
the machine's capacity (cores x wall seconds). Where ``/proc`` is missing
every share is NaN and nothing fails.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable

import attrs

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@attrs.frozen
class Sample:
    """CPU seconds used so far at wall time ``wall``: the machine's, the
    generators' (reaped children), and per live process of the servers and
    of PostgreSQL (per process, so that one exiting between two samples does
    not count as negative time)."""

    wall: float
    machine_busy: float
    servers: dict[int, float]
    postgres: dict[int, float]
    generators: float


@attrs.frozen
class Shares:
    """Shares (0-1) of the machine's CPU capacity over an interval.

    ``other`` is busy time no one of ours accounts for (other users' work,
    the kernel on their behalf, and this harness process itself).
    """

    servers: float
    postgres: float
    generators: float
    other: float
    idle: float
    #: The servers' share split by process, busiest first (processes that
    #: used next to none, such as the parent of ``--workers N``, left out): how
    #: evenly the kernel spread the connections.
    per_server_process: tuple[float, ...] = ()

    #: The shares that add up to the machine's capacity.
    PARTS = ("servers", "postgres", "generators", "other", "idle")

    def as_dict(self) -> dict[str, float]:
        return {part: getattr(self, part) for part in self.PARTS}


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds) of every live process."""
    table: dict[int, tuple[str, int, float]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                text = file.read()
        except OSError:  # it exited meanwhile
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rpartition(")")[2].split()
        # fields[0] is stat(5)'s field 3; ppid is field 4, utime/stime 14/15.
        table[int(name)] = (
            command,
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / _TICK,
        )
    return table


def _tree_cpu(
    table: dict[int, tuple[str, int, float]], roots: Iterable[int]
) -> dict[int, float]:
    """pid -> CPU seconds of the live processes *roots* and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = {}, list(roots)
    while stack:
        pid = stack.pop()
        if pid in found or pid not in table:
            continue
        found[pid] = table[pid][2]
        stack.extend(children.get(pid, ()))
    return found


def _machine_busy() -> tuple[float, int]:
    """(busy CPU seconds of all cores since boot, number of cores) from /proc/stat."""
    try:
        with open("/proc/stat") as file:
            first = file.readline().split()
    except OSError:
        return float("nan"), os.cpu_count() or 1
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    values = [int(value) for value in first[1:]]
    busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
    return busy / _TICK, os.cpu_count() or 1


def sample(server_pids: Iterable[int]) -> Sample:
    """The counters now; *server_pids* are the roots of the servers' process trees.

    PostgreSQL is every process named ``postgres`` (its backends, WAL writer,
    checkpointer, ...), including sessions of other users of the same server.
    """
    table = _processes()
    postgres = {
        pid: cpu for pid, (command, _, cpu) in table.items() if command == "postgres"
    }
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(
        wall=time.monotonic(),
        machine_busy=_machine_busy()[0],
        servers=_tree_cpu(table, server_pids),
        postgres=postgres,
        generators=children.ru_utime + children.ru_stime,
    )


def shares(before: Sample, after: Sample) -> Shares:
    """How the machine's capacity between the two samples was used.

    The generators' figure counts only the generator runs that *ended*
    between the samples (their CPU is known once they are reaped), so take
    *after* once the load's generators have exited.
    """
    capacity = (after.wall - before.wall) * _machine_busy()[1]
    if capacity <= 0:
        nan = float("nan")
        return Shares(nan, nan, nan, nan, nan)
    per_process = sorted(
        (
            used / capacity
            for used in _used_by_process(before.servers, after.servers).values()
            if used / capacity >= 0.005
        ),
        reverse=True,
    )
    servers = _used(before.servers, after.servers) / capacity
    postgres = _used(before.postgres, after.postgres) / capacity
    generators = (after.generators - before.generators) / capacity
    busy = (after.machine_busy - before.machine_busy) / capacity
    return Shares(
        servers=servers,
        postgres=postgres,
        generators=generators,
        other=max(0.0, busy - servers - postgres - generators),
        idle=max(0.0, 1 - busy),
        per_server_process=tuple(per_process),
    )


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes alive at *after* used since *before* (all of
    it for those started since; those that exited meanwhile are lost)."""
    return sum(_used_by_process(before, after).values())


def _used_by_process(
    before: dict[int, float], after: dict[int, float]
) -> dict[int, float]:
    return {pid: cpu - before.get(pid, 0.0) for pid, cpu in after.items()}


def server_seconds(before: Sample, after: Sample) -> float:
    """CPU seconds the servers (all their processes) used between the samples."""
    return _used(before.servers, after.servers)


def postgres_seconds(before: Sample, after: Sample) -> float:
    """CPU seconds PostgreSQL (all its processes) used between the samples."""
    return _used(before.postgres, after.postgres)
