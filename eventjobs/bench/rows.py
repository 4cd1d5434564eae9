"""The rows of the full benchmark's table: each figure measured as a
:class:`Plan` says, with its target where the docs set one.

Each function starts what it measures (a server process, a journal, a
PostgreSQL database) and stops it before it returns.
"""

from __future__ import annotations

import attrs

from . import cancel, http_figures, journal_load, replay
from . import postgres as bench_postgres
from .report import Row, Target
from .server import running_server
from .stats import figure

CLIENT_BOUND = "client-bound: Python load generator"


@attrs.frozen
class Plan:
    """How long and how often each benchmark runs."""

    runs: int
    seconds: float
    warm_up: float
    cancel_samples: int
    replay_events: int
    journal_seconds: float

    @classmethod
    def full(cls) -> Plan:
        return cls(
            runs=3,
            seconds=5,
            warm_up=3,
            cancel_samples=100,
            replay_events=1_000_000,
            journal_seconds=3,
        )

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            runs=2,
            seconds=1,
            warm_up=1,
            cancel_samples=16,
            replay_events=20_000,
            journal_seconds=0.3,
        )


def http_rows(plan: Plan, client: str, server_cores, client_cores, log) -> list[Row]:
    note = CLIENT_BOUND if client == "python" else ""
    rounds = []
    cancels: list[tuple[float, float]] = []
    with running_server(server_cores) as server:
        log(f"server {server.url}, journal {server.journal}; warming up")
        http_figures.warm_up(server, client, plan.warm_up, client_cores)
        for index in range(plan.runs):
            log(f"HTTP round {index + 1}/{plan.runs}")
            rounds.append(
                http_figures.run_round(server, client, plan.seconds, client_cores, log)
            )
        for index in range(plan.runs):
            latencies = cancel.cancel_latencies(
                server.host, server.port, plan.cancel_samples
            )
            cancels.append(cancel.summary(latencies))
            log(
                f"cancel run {index + 1}/{plan.runs}: p50 {cancels[-1][0]:.2f} ms, "
                f"p99 {cancels[-1][1]:.2f} ms"
            )

    def rates_of(name: str) -> list[float]:
        return [r.results[name].rate for r in rounds]

    def cpu(name: str) -> list[float]:
        return [r.cpu_us[name] for r in rounds]

    def latency(name: str, which: str) -> list[float]:
        return [getattr(r.results[name], which) for r in rounds]

    fetch_note = note
    if any(r.results[f"fetch@{c}"].ranout for r in rounds for c in (10, 50)):
        fetch_note = (
            note + "; " if note else ""
        ) + "ran out of finished jobs: a lower bound"
    baseline = rates_of("baseline@50")
    rows = [
        Row(
            figure(
                "baseline req/s",
                "req/s",
                baseline,
                note or "GET /_api/version, 50 conns",
            )
        ),
        Row(figure("submit 202/s", "202/s", rates_of("submit@50"), note)),
        Row(
            figure(
                "submit / baseline",
                "ratio",
                [s / b for s, b in zip(rates_of("submit@50"), baseline)],
                note,
            ),
            Target(0.85),
        ),
        Row(figure("lifecycle jobs/s", "jobs/s", rates_of("lifecycle@50"), note)),
        Row(
            figure(
                "lifecycle / baseline",
                "ratio",
                [s / b for s, b in zip(rates_of("lifecycle@50"), baseline)],
                note,
            ),
            Target(0.35),
        ),
        Row(
            figure(
                "submit sustained jobs/s",
                "jobs/s",
                [r.sustained_submit() for r in rounds],
                "202s over load + drain time: jobs accepted and run",
            )
        ),
        Row(figure("fetch results/s", "results/s", rates_of("fetch@50"), fetch_note)),
        Row(
            figure(
                "lifecycle polls/job",
                "204s/job",
                [
                    r.results["lifecycle@50"].polls
                    / max(1, r.results["lifecycle@50"].ok)
                    for r in rounds
                ],
                "fetches that found the job still pending",
            )
        ),
        Row(
            figure(
                "CPU/baseline request us", "us", cpu("baseline@50"), "server CPU time"
            )
        ),
        Row(
            figure(
                "CPU/submitted job us", "us", cpu("submit@50"), "accept + run the job"
            )
        ),
        Row(figure("CPU/fetched result us", "us", cpu("fetch@50"))),
        Row(figure("CPU/lifecycle job us", "us", cpu("lifecycle@50"), "incl. polls")),
        # The same ratios from server CPU time: steadier than rates when other
        # processes share the machine, and they charge a job's execution.
        Row(
            figure(
                "submit+run / baseline CPU",
                "ratio",
                [b / s for s, b in zip(cpu("submit@50"), cpu("baseline@50"))],
                "CPU per baseline request / CPU per accepted and run job",
            )
        ),
        Row(
            figure(
                "lifecycle / baseline CPU",
                "ratio",
                [b / s for s, b in zip(cpu("lifecycle@50"), cpu("baseline@50"))],
                "CPU per baseline request / CPU per complete job",
            )
        ),
        Row(
            figure(
                "cancel p50 ms",
                "ms",
                [c[0] for c in cancels],
                f"{plan.cancel_samples} sleep jobs per run",
            )
        ),
        Row(
            figure("cancel p99 ms", "ms", [c[1] for c in cancels]),
            Target(5, at_most=True),
        ),
    ]
    for connections in (10, 50):
        for kind in ("submit", "fetch"):
            name = f"{kind}@{connections}"
            rows.append(
                Row(
                    figure(
                        f"{kind} p50 @{connections} ms",
                        "ms",
                        latency(name, "p50_ms"),
                        note,
                    )
                )
            )
            rows.append(
                Row(
                    figure(
                        f"{kind} p99 @{connections} ms",
                        "ms",
                        latency(name, "p99_ms"),
                        note,
                    )
                )
            )
    return rows


def journal_rows(plan: Plan, log) -> list[Row]:
    rows = []
    for writers in (1, 10, 100):
        rates = journal_load.append_rates(writers, plan.journal_seconds, plan.runs)
        log(f"journal, {writers} writers: {[round(r) for r in rates]} appends/s")
        rows.append(
            Row(
                figure(
                    f"journal {writers} writers",
                    "appends/s",
                    rates,
                    "durable (fdatasync), group commit",
                )
            )
        )
    return rows


def postgres_rows(
    plan: Plan, url: str, client: str, server_cores, client_cores, log
) -> list[Row]:
    """The journal micro-benchmark and submit/lifecycle over HTTP on PostgreSQL
    (same loads as the file journal's rows, measured in the same run)."""
    rows = []
    for writers in (1, 10, 100):
        rates = journal_load.postgres_append_rates(
            lambda: bench_postgres.fresh_journal(url),
            writers,
            plan.journal_seconds,
            plan.runs,
        )
        log(f"PG journal, {writers} writers: {[round(r) for r in rates]} appends/s")
        rows.append(
            Row(
                figure(
                    f"PG journal {writers} writers",
                    "appends/s",
                    rates,
                    "one transaction per batch",
                )
            )
        )
    note = CLIENT_BOUND if client == "python" else ""
    rounds = []
    for index in range(plan.runs):
        with bench_postgres.fresh_journal(url) as journal_url:
            with running_server(server_cores, journal_url=journal_url) as server:
                log(f"PG HTTP round {index + 1}/{plan.runs} ({server.url})")
                http_figures.warm_up(server, client, plan.warm_up, client_cores)
                rounds.append(
                    http_figures.run_round(
                        server, client, plan.seconds, client_cores, log
                    )
                )

    def rates_of(name: str) -> list[float]:
        return [r.results[name].rate for r in rounds]

    # Ratios to the baseline of the same round: the file journal's rows were
    # measured minutes earlier, and a shared machine's rates drift.
    rows += [
        Row(figure("PG baseline req/s", "req/s", rates_of("baseline@50"), note)),
        Row(figure("PG submit 202/s", "202/s", rates_of("submit@50"), note)),
        Row(
            figure(
                "PG submit / baseline",
                "ratio",
                [
                    s / b
                    for s, b in zip(
                        rates_of("submit@50"), rates_of("baseline@50"), strict=True
                    )
                ],
                note,
            )
        ),
        Row(figure("PG lifecycle jobs/s", "jobs/s", rates_of("lifecycle@50"), note)),
        Row(
            figure(
                "PG lifecycle / baseline",
                "ratio",
                [
                    s / b
                    for s, b in zip(
                        rates_of("lifecycle@50"), rates_of("baseline@50"), strict=True
                    )
                ],
                note,
            )
        ),
        Row(
            figure(
                "PG submit sustained jobs/s",
                "jobs/s",
                [r.sustained_submit() for r in rounds],
            )
        ),
        Row(
            figure(
                "PG CPU/submitted job us",
                "us",
                [r.cpu_us["submit@50"] for r in rounds],
                "server process only (PostgreSQL's CPU not counted)",
            )
        ),
    ]
    return rows


def replay_rows(plan: Plan, log) -> list[Row]:
    rates, count = replay.replay_rates(plan.replay_events, plan.runs)
    log(f"replay of {count} events: {[round(r) for r in rates]} events/s")
    return [
        Row(
            figure("replay events/s", "events/s", rates, f"{count:,}-event journal"),
            Target(200_000),
        )
    ]
