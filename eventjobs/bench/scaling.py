"""The scaling scenario: submit and lifecycle throughput with 1, 2, 4, ...
server processes on one PostgreSQL journal, against the file journal's
single process measured in the same run (``python -m eventjobs.bench
--scaling``; docs/performance.md, "Scaling").

Each repetition starts every configuration afresh (a new journal or
schema), in turn: file x1 first, then PG x1, PG x2, ... For each it warms
up, then runs two loads of ``seconds`` each, with ``connections`` clients in
all (spread evenly over the configuration's URLs):

- **submit**: ``PUT /_admin/echo`` with ``x-arango-async: store``; 202s per
  second (the same load as the ``submit`` row of the main run);
- **lifecycle**: closed-loop clients that submit a job, then fetch it with
  ``PUT /_api/job/{id}`` until its result comes; complete jobs per second.

Between loads the harness waits until no job is pending. A configuration's
ratio is its rate over the file journal's rate *of the same repetition*;
the table gives the median and the range over the repetitions. During each
load it also records how the machine's CPU was shared (:mod:`.cpu`):
servers, PostgreSQL, the load generator, other.

Nothing is pinned: the servers, PostgreSQL and the load generator all share
the machine's cores, which is what limits scaling on a small machine, and
the CPU shares show it.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from . import cpu
from .cluster import Cluster, Configuration, running_cluster
from .http_figures import wait_idle
from .load import LoadResult
from .wrk import run_load

KINDS = ("submit", "lifecycle")

#: Tries per configuration and repetition before the run fails.
ATTEMPTS = 2


@attrs.frozen
class ScalingPlan:
    """How the scenario runs; ``processes`` are the PostgreSQL configurations."""

    repetitions: int
    seconds: float
    warm_up: float
    connections: int
    processes: tuple[int, ...]

    @classmethod
    def full(cls) -> ScalingPlan:
        return cls(
            repetitions=3, seconds=5, warm_up=2, connections=64, processes=(1, 2, 4)
        )

    @classmethod
    def quick(cls) -> ScalingPlan:
        return cls(
            repetitions=1, seconds=1, warm_up=0.5, connections=8, processes=(1, 2)
        )


@attrs.frozen
class Measurement:
    """One configuration in one repetition."""

    configuration: str
    loads: dict[str, LoadResult]
    shares: dict[str, cpu.Shares]
    drain_seconds: dict[str, float]
    #: Server CPU (all processes) per counted item of the load, microseconds.
    server_cpu_us: dict[str, float]
    #: PostgreSQL's CPU (all its processes) per counted item, microseconds.
    postgres_cpu_us: dict[str, float]


def configurations(plan: ScalingPlan, postgres: bool) -> list[Configuration]:
    """The file journal's single process, then each PostgreSQL process count."""
    found = [Configuration("file", 1)]
    if postgres:
        found += [Configuration("postgresql", n) for n in plan.processes]
    return found


def spread_load(
    client: str, kind: str, urls: Sequence[str], connections: int, seconds: float
) -> LoadResult:
    """Run *kind* against every URL at once, *connections* split evenly over
    them (one generator process per URL), and add the results up.

    Rates add; latencies are the worst URL's (a summary, not a distribution).

    Raises:
        RuntimeError: a generator failed (the first failure is raised).
    """
    each = max(1, connections // len(urls))
    args = (str(each),) if kind == "lifecycle" else ()
    results: list[LoadResult | None] = [None] * len(urls)
    errors: list[BaseException] = []

    def one(index: int, url: str) -> None:
        try:
            results[index] = run_load(
                client, kind, url, connections=each, seconds=seconds, args=args
            )
        except BaseException as error:  # reported below, from the harness's thread
            errors.append(error)

    threads = [
        threading.Thread(target=one, args=(i, url)) for i, url in enumerate(urls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    done = [result for result in results if result is not None]
    return LoadResult(
        requests=sum(r.requests for r in done),
        # The generators ran side by side: their own clocks each cover the load.
        seconds=statistics.mean(r.seconds for r in done),
        ok=sum(r.ok for r in done),
        other=sum(r.other for r in done),
        socket_errors=sum(r.socket_errors for r in done),
        p50_ms=max(r.p50_ms for r in done),
        p99_ms=max(r.p99_ms for r in done),
        polls=sum(r.polls for r in done),
    )


def _wait_idle(cluster: Cluster) -> float:
    """Seconds until no node has a pending job.

    Raises:
        RuntimeError: a server has exited (with the end of its output).
    """
    _check_running(cluster)
    try:
        return sum(wait_idle(server) for server in cluster.servers)
    except OSError as error:
        _check_running(cluster)
        raise RuntimeError(f"a server stopped answering ({error})") from error


def _check_running(cluster: Cluster) -> None:
    for server in cluster.servers:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server at {server.url} exited with status {server.process.returncode} "
                "during the load; the end of its output:\n" + server.output()[-2000:]
            )


def measure(
    cluster: Cluster,
    configuration: Configuration,
    client: str,
    plan: ScalingPlan,
    log: Callable[[str], None],
) -> Measurement:
    """Warm *cluster* up, then run each kind of load once."""
    for kind in ("baseline", "lifecycle"):
        spread_load(client, kind, cluster.urls, plan.connections, plan.warm_up)
    _wait_idle(cluster)
    loads, shares, drains, cpu_us, pg_us = {}, {}, {}, {}, {}
    for kind in KINDS:
        before = cpu.sample(cluster.pids)
        loads[kind] = spread_load(
            client, kind, cluster.urls, plan.connections, plan.seconds
        )
        after = cpu.sample(cluster.pids)
        shares[kind] = cpu.shares(before, after)
        cpu_us[kind] = cpu.server_seconds(before, after) * 1e6 / max(1, loads[kind].ok)
        pg_us[kind] = cpu.postgres_seconds(before, after) * 1e6 / max(1, loads[kind].ok)
        drains[kind] = _wait_idle(cluster)
        used = shares[kind]
        log(
            f"  {configuration.name:<8} {kind:<9} {loads[kind].rate:7.0f}/s  "
            f"CPU per item: server {cpu_us[kind]:5.0f} us, PostgreSQL {pg_us[kind]:4.0f} us  "
            f"other {loads[kind].other:<4} errors {loads[kind].socket_errors:<3} "
            f"drain {drains[kind]:5.2f} s  CPU: servers {used.servers:.0%} "
            f"PostgreSQL {used.postgres:.0%} generator {used.generators:.0%} "
            f"other {used.other:.0%} idle {used.idle:.0%}; per server process "
            + " ".join(f"{share:.0%}" for share in used.per_server_process)
        )
    return Measurement(configuration.name, loads, shares, drains, cpu_us, pg_us)


def run(
    plan: ScalingPlan,
    client: str,
    mode: str,
    postgres_url: str | None,
    log: Callable[[str], None],
) -> list[list[Measurement]]:
    """Every configuration in every repetition, in order (file x1 first)."""
    repetitions = []
    for index in range(plan.repetitions):
        log(f"scaling repetition {index + 1}/{plan.repetitions} ({mode})")
        measured = []
        for configuration in configurations(plan, postgres_url is not None):
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    with running_cluster(configuration, mode, postgres_url) as cluster:
                        measured.append(
                            measure(cluster, configuration, client, plan, log)
                        )
                    break
                except RuntimeError as error:
                    if attempt == ATTEMPTS:
                        raise
                    # On a shared machine a server can be stopped from outside
                    # (another suite's cleanup): try the configuration afresh.
                    log(
                        f"  {configuration.name}: {error}\n  trying {configuration.name} again"
                    )
        repetitions.append(measured)
    return repetitions


@attrs.frozen
class Summary:
    """One configuration over the repetitions: per kind, the rates and the
    ratios to the file journal of the same repetition, and the servers' CPU
    per item; the CPU shares, medians."""

    configuration: str
    rates: dict[str, tuple[float, ...]]
    ratios: dict[str, tuple[float, ...]]
    cpu_us: dict[str, tuple[float, ...]]
    postgres_cpu_us: dict[str, tuple[float, ...]]
    shares: dict[str, dict[str, float]]
    #: Lifecycle fetches answered 204 (job still pending) per complete job.
    polls_per_job: tuple[float, ...] = ()


def summarize(repetitions: Sequence[Sequence[Measurement]]) -> list[Summary]:
    names = [m.configuration for m in repetitions[0]]
    summaries = []
    for position, name in enumerate(names):
        rates, ratios, cpu_us, pg_us, shares = {}, {}, {}, {}, {}
        for kind in KINDS:
            cpu_us[kind] = tuple(
                rep[position].server_cpu_us[kind] for rep in repetitions
            )
            pg_us[kind] = tuple(
                rep[position].postgres_cpu_us[kind] for rep in repetitions
            )
            rates[kind] = tuple(rep[position].loads[kind].rate for rep in repetitions)
            ratios[kind] = tuple(
                rep[position].loads[kind].rate / rep[0].loads[kind].rate
                if rep[0].loads[kind].rate
                else float("nan")
                for rep in repetitions
            )
            shares[kind] = {
                part: statistics.median(
                    rep[position].shares[kind].as_dict()[part] for rep in repetitions
                )
                for part in cpu.Shares.PARTS
            }
        polls = tuple(
            rep[position].loads["lifecycle"].polls
            / max(1, rep[position].loads["lifecycle"].ok)
            for rep in repetitions
        )
        summaries.append(Summary(name, rates, ratios, cpu_us, pg_us, shares, polls))
    return summaries


def _spread(values: Sequence[float], digits: int) -> str:
    """``median (min-max)``, or just the value for a single run."""

    def number(value: float) -> str:
        return f"{value:,.{digits}f}"

    if len(values) == 1:
        return number(values[0])
    return f"{number(statistics.median(values))} ({number(min(values))}-{number(max(values))})"


def table(summaries: Sequence[Summary]) -> str:
    """A Markdown table: per configuration, rates and ratios to file x1
    (median and range); lifecycle polls per job, the servers' and
    PostgreSQL's CPU per job (medians); how the machine's CPU was shared
    during the lifecycle load (medians)."""
    header = (
        "configuration",
        "submit 202/s",
        "submit / file x1",
        "lifecycle jobs/s",
        "lifecycle / file x1",
        "polls/job",
        "server CPU us/job (submit, lifecycle)",
        "PostgreSQL CPU us/job",
        "CPU in lifecycle: servers",
        "PostgreSQL",
        "generator",
        "other",
        "idle",
    )
    lines: list[tuple[str, ...]] = [header]
    for s in summaries:
        used = s.shares["lifecycle"]
        lines.append(
            (
                s.configuration,
                _spread(s.rates["submit"], 0),
                _spread(s.ratios["submit"], 2),
                _spread(s.rates["lifecycle"], 0),
                _spread(s.ratios["lifecycle"], 2),
                f"{statistics.median(s.polls_per_job):.2f}",
                f"{statistics.median(s.cpu_us['submit']):,.0f}, "
                f"{statistics.median(s.cpu_us['lifecycle']):,.0f}",
                f"{statistics.median(s.postgres_cpu_us['submit']):,.0f}, "
                f"{statistics.median(s.postgres_cpu_us['lifecycle']):,.0f}",
                *(
                    f"{used[part]:.0%}"
                    for part in ("servers", "postgres", "generators", "other", "idle")
                ),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append(
            "| "
            + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line))
            + " |"
        )
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


def write_json(
    path: Path,
    repetitions: Sequence[Sequence[Measurement]],
    machine: dict[str, str],
    settings: dict[str, object],
) -> None:
    """Every run of every configuration, with the machine and the settings."""
    data = {
        "machine": machine,
        "settings": settings,
        "repetitions": [
            [
                {
                    "configuration": m.configuration,
                    "loads": {
                        kind: attrs.asdict(result) | {"rate": result.rate}
                        for kind, result in m.loads.items()
                    },
                    "cpu shares": {
                        kind: attrs.asdict(s) for kind, s in m.shares.items()
                    },
                    "drain seconds": m.drain_seconds,
                    "server CPU us per item": m.server_cpu_us,
                    "PostgreSQL CPU us per item": m.postgres_cpu_us,
                }
                for m in repetition
            ]
            for repetition in repetitions
        ],
        "summary": [attrs.asdict(s) for s in summarize(repetitions)],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
