"""``python -m eventjobs.bench``: run every benchmark, print one table, write
one chart (and a JSON record). See docs/performance.md for what each figure
means and how it is measured.

``python -m eventjobs.bench SCENARIO [options]`` runs one stand-alone
scenario instead (:data:`SCENARIOS`): it has its own options and prints its
own figures, and the full run leaves it out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from . import (
    cluster_failover,
    long_running,
    memory,
)
from . import postgres as bench_postgres
from . import merkle, scaling, startup
from ..journal.pg_url import redact
from .cluster import MODES
from .machine import describe, split_cores
from .options import at_least_one
from .report import chart, table, write_json
from .rows import Plan, http_rows, journal_rows, postgres_rows, replay_rows
from .wrk import have_wrk


PROG = "python -m eventjobs.bench"


@attrs.frozen
class Scenario:
    """A stand-alone scenario: ``main(argv, prog)`` parses its own options,
    prints its figures and returns the exit status."""

    summary: str
    main: Callable[[Sequence[str], str], int]


#: The stand-alone scenarios, by the name that selects them (the first word).
SCENARIOS = {
    "startup": Scenario(
        "start-up time against history length (docs/durability.md)", startup.main
    ),
    "memory": Scenario(
        "memory of stored results at start-up (docs/durability.md)", memory.main
    ),
    "long-running": Scenario(
        "cancel latency per kind of work, worker-process call "
        "overhead (docs/long-running.md)",
        long_running.main,
    ),
    "cluster-failover": Scenario(
        "cancel across two nodes, recovery after kill -9; "
        "needs PostgreSQL (docs/deployment.md)",
        cluster_failover.main,
    ),
    "merkle": Scenario(
        "the audit trail's Merkle tree: append cost against SHA-256 alone, "
        "proof times in a large tree",
        merkle.main,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [options] | {PROG} SCENARIO [scenario options]",
        description="Benchmark eventjobs against its own stack's limit, in one run.",
        epilog="stand-alone scenarios (run one alone; "
        f"{PROG} SCENARIO --help for its options):\n"
        + "\n".join(
            f"  {name:<18}{scenario.summary}" for name, scenario in SCENARIOS.items()
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Only to name a misplaced or misspelt scenario precisely; a scenario is
    # recognised as the first word, before this parser runs (see main).
    parser.add_argument("scenario", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs (well under a minute): a smoke test, not a measurement",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per figure")
    parser.add_argument(
        "--seconds", type=float, default=None, help="seconds per HTTP run"
    )
    parser.add_argument(
        "--replay-events",
        type=int,
        default=None,
        help="journal size for the replay figure",
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=Path("eventjobs-bench.png"),
        help="where to write the PNG chart",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the figures as JSON"
    )
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL|off",
        help="also measure the PostgreSQL journal in this database (default: "
        "the local server if it answers; 'off' to skip)",
    )
    group = parser.add_argument_group(
        "scaling",
        "--scaling runs only the scaling scenario: submit and lifecycle with 1, 2, "
        "4 processes on one PostgreSQL journal against the file journal's one process",
    )
    group.add_argument(
        "--scaling", action="store_true", help="run the scaling scenario only"
    )
    group.add_argument(
        "--processes",
        type=_process_counts,
        default=None,
        metavar="N,N,...",
        help="PostgreSQL process counts (default 1,2,4; quick: 1,2)",
    )
    group.add_argument(
        "--mode",
        choices=MODES,
        default="workers",
        help="workers: one 'eventjobs serve --workers N' on one bind (default); "
        "ports: N 'eventjobs serve' on N ports, connections spread over them",
    )
    group.add_argument(
        "--connections",
        type=at_least_one,
        default=None,
        help="clients in all, spread over the ports (default 64; quick: 8)",
    )
    group.add_argument(
        "--repetitions",
        type=at_least_one,
        default=None,
        help="repetitions of the whole scenario (default 3; quick: 1)",
    )
    return parser


def _process_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(
            f"takes whole numbers of at least 1 separated by commas, like 1,2,4, "
            f"not {text!r}"
        )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the full benchmark (or ``--scaling``), or the scenario named by the
    first word of *argv*; return the exit status (2 for bad options)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SCENARIOS:
        return SCENARIOS[argv[0]].main(argv[1:], f"{PROG} {argv[0]}")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.scenario is not None:
        if args.scenario in SCENARIOS:
            parser.error(
                f"the scenario name comes first, and takes its own options: "
                f"{PROG} {args.scenario} [options]"
            )
        parser.error(
            f"no scenario named {args.scenario!r}: use one of {', '.join(SCENARIOS)}"
        )
    plan = Plan.quick() if args.quick else Plan.full()
    plan = attrs.evolve(
        plan,
        **{
            name: value
            for name, value in (
                ("runs", args.runs),
                ("seconds", args.seconds),
                ("replay_events", args.replay_events),
            )
            if value is not None
        },
    )
    client = (
        args.client if args.client != "auto" else ("wrk" if have_wrk() else "python")
    )
    if client == "wrk" and not have_wrk():
        print(
            "wrk is not installed (apt-get install wrk), use --client python",
            file=sys.stderr,
        )
        return 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.scaling:
        return _scaling(args, client, log)
    server_cores, client_cores = split_cores()
    if client_cores is not None:
        # The harness and its load generators stay off the server's core.
        os.sched_setaffinity(0, client_cores)
    log(
        f"eventjobs bench: {'quick' if args.quick else 'full'} mode, client {client}, "
        f"server cores {sorted(server_cores) if server_cores else 'unpinned'}, "
        f"client cores {sorted(client_cores) if client_cores else 'unpinned'}"
    )
    started = time.monotonic()
    load_before = _load_average()
    rows = http_rows(plan, client, server_cores, client_cores, log)
    rows += journal_rows(plan, log)
    postgres_url = _postgres(args.postgres, log)
    if postgres_url is not None:
        rows += postgres_rows(
            plan, postgres_url, client, server_cores, client_cores, log
        )
    rows += replay_rows(plan, log)
    machine = describe()
    machine["load average"] = f"{load_before} before, {_load_average()} after"
    text = table(rows)
    print(text)
    print()
    print("machine: " + "; ".join(f"{key} {value}" for key, value in machine.items()))
    settings = {
        **attrs.asdict(plan),
        "client": client,
        "server cores": sorted(server_cores) if server_cores else None,
        "client cores": sorted(client_cores) if client_cores else None,
    }
    print("settings: " + ", ".join(f"{key} {value}" for key, value in settings.items()))
    title = (
        f"eventjobs bench ({'quick' if args.quick else 'full'}, {client}) on "
        f"{machine['cpus']} x {machine['cpu model']}, Python {machine['python']}"
    )
    chart(args.chart, rows, title)
    print(f"chart: {args.chart}")
    if args.json is not None:
        write_json(args.json, rows, machine, settings)
        print(f"json: {args.json}")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def _scaling(args: argparse.Namespace, client: str, log) -> int:
    """The scaling scenario alone: its table on stdout, every run as JSON
    (``--json``, default ``eventjobs-scaling.json``)."""
    plan = scaling.ScalingPlan.quick() if args.quick else scaling.ScalingPlan.full()
    plan = attrs.evolve(
        plan,
        **{
            name: value
            for name, value in (
                ("repetitions", args.repetitions),
                ("seconds", args.seconds),
                ("connections", args.connections),
                ("processes", args.processes),
            )
            if value is not None
        },
    )
    # Nothing is pinned here: the servers, PostgreSQL and the generator share
    # the cores, and the table shows how.
    log(
        f"eventjobs bench --scaling: {'quick' if args.quick else 'full'}, client {client}, "
        f"mode {args.mode}, {plan}"
    )
    started = time.monotonic()
    load_before = _load_average()
    postgres_url = _postgres(args.postgres, log)
    try:
        repetitions = scaling.run(plan, client, args.mode, postgres_url, log)
    except (RuntimeError, ValueError) as error:
        print(f"eventjobs bench --scaling: {error}", file=sys.stderr)
        return 1
    machine = describe()
    machine["load average"] = f"{load_before} before, {_load_average()} after"
    print(scaling.table(scaling.summarize(repetitions)))
    print()
    print("machine: " + "; ".join(f"{key} {value}" for key, value in machine.items()))
    settings = {
        **attrs.asdict(plan),
        "client": client,
        "mode": args.mode,
        "postgres": redact(postgres_url) if postgres_url else None,
    }
    print("settings: " + ", ".join(f"{key} {value}" for key, value in settings.items()))
    path = args.json or Path("eventjobs-scaling.json")
    scaling.write_json(path, repetitions, machine, settings)
    print(f"json: {path}")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def _postgres(option: str | None, log) -> str | None:
    """The database to measure the PostgreSQL journal in, or None (and why)."""
    if option == "off":
        return None
    url = option or bench_postgres.LOCAL
    problem = bench_postgres.usable(url)
    if problem is not None:
        log(f"PostgreSQL rows left out: {problem}")
        return None
    return url


def _load_average() -> str:
    """The 1-minute load average: other work on the machine skews every rate."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"
