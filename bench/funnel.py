"""Benchmark 1: GET /api/v1/onboard/funnel at each store size, beside GET /healthz.

One Ops per size, each on its seeded store, all up at once; funnel and /healthz requests
take turns on two keep-alive connections per server, the sizes in short slices in turn
(20 rounds each: so the machine's noise hits every request and every size alike, and the
quotient between sizes divides p95s of the same seconds); at the largest size, the
concurrent load of bench/load.py (funnel, failures and /healthz requests/s with 8 and 32
connections, in slices with /healthz between the reads); then, with Ops stopped, Ops'
funnel code beside the naive json_extract aggregate and DuckDB (bench/baselines.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import orjson

from bench.baselines import compare
from bench.budgets import Figure, Section, budget, goal
from bench.latency import Bound, Summary, alternate_slices
from bench.load import CONNECTIONS, Slices, Target, load_figures, rates
from bench.plan import Plan
from bench.ratios import spread
from bench.seed import cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection

FUNNEL_BUDGET_MS = 500.0
HEALTHZ_RATIO_GOAL = 2.0  # issue 16: a kept answer costs about what a health check costs
FLAT_GOAL = 1.5
ROUNDS_PER_SLICE = 20  # funnel + healthz rounds on one server before the next size's turn


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


@dataclass(frozen=True, slots=True)
class Server:
    """One size's Ops and the funnel window its store is read with."""

    port: int
    hours: int


@dataclass(frozen=True, slots=True)
class Measured:
    funnel: Summary
    healthz: Summary
    document: dict[str, object]  # the first funnel answer


async def measure_sizes(
    servers: Mapping[int, Server],
    headers: dict[str, str],
    bound: Bound,
    per_slice: int = ROUNDS_PER_SLICE,
) -> dict[int, Measured]:
    """Every size's funnel and /healthz, all servers up at once, in short slices taking
    turns: ``per_slice`` rounds of one funnel and one /healthz request at 10k, then at
    100k, then at 1M, then 10k again... (``alternate_slices``).

    Each size's p95 and the quotients between sizes then come from the same seconds: the
    machine's drift hits every size alike (run one size after another, minutes apart, the
    1M / 10k quotient moved by 30% between two runs)."""
    conns: dict[int, tuple[Connection, Connection]] = {}
    documents: dict[int, dict[str, object]] = {}
    groups: list[list[Callable[[], Awaitable[float]]]] = []
    try:
        for size, server in servers.items():
            conns[size] = (
                await Connection.open(HOST, server.port),
                await Connection.open(HOST, server.port),
            )
            path = f"/api/v1/onboard/funnel?hours={server.hours}"
            first = await conns[size][0].request("GET", path, headers)
            if first.status != 200:
                raise ServiceError(f"GET {path} answered {first.status}: {first.body[:200]!r}")
            documents[size] = orjson.loads(first.body)
            funnel_probe = get_probe(conns[size][0], path, headers)
            groups.append([funnel_probe, get_probe(conns[size][1], "/healthz", {})])
        samples = await alternate_slices(groups, bound, per_slice)
    finally:
        for pair in conns.values():
            for conn in pair:
                await conn.close()
    return {
        size: Measured(Summary.of(funnel), Summary.of(health), documents[size])
        for size, (funnel, health) in zip(servers, samples, strict=True)
    }


def get_probe(
    conn: Connection, path: str, headers: Mapping[str, str]
) -> Callable[[], Awaitable[float]]:
    """A timed GET of ``path`` on ``conn`` (seconds); anything but 200 fails the run."""

    async def timed() -> float:
        seconds, reply = await conn.timed("GET", path, headers)
        if reply.status != 200:
            raise ServiceError(f"GET {path} answered {reply.status}")
        return seconds

    return timed


def http_figures(size: int, funnel: Summary, healthz: Summary, *, judged: bool) -> list[Figure]:
    """The HTTP figures of one size; ``judged``: this size carries the 500 ms budget."""
    name = label(size)
    return [
        Figure(f"funnel.{size}.p50_ms", f"funnel p50 at {name}", funnel.p50, "ms"),
        Figure(
            f"funnel.{size}.p95_ms",
            f"funnel p95 at {name}",
            funnel.p95,
            "ms",
            budget(FUNNEL_BUDGET_MS) if judged else None,
        ),
        Figure(f"funnel.{size}.p99_ms", f"funnel p99 at {name}", funnel.p99, "ms"),
        Figure(
            f"healthz.{size}.p95_ms", f"GET /healthz p95 (same server, {name})", healthz.p95, "ms"
        ),
        Figure(
            f"funnel.{size}.healthz_ratio",
            f"funnel p95 / healthz p95 at {name}",
            funnel.p95 / healthz.p95,
            "x",
            goal(HEALTHZ_RATIO_GOAL),
        ),
    ]


async def run(plan: Plan) -> Section:
    section = Section("1 funnel")
    creds = Credentials()
    stores = {size: await cached_store(size) for size in plan.funnel_sizes}
    load: dict[int, Slices] = {}
    async with Fleet() as fleet:
        servers = {}
        for size, store in stores.items():
            ops = await fleet.ops(creds, store.path)
            servers[size] = Server(ops.port, store.window_hours())
        measured = await measure_sizes(servers, creds.bearer, plan.funnel)
        largest = servers[plan.largest]
        targets = [
            Target("funnel", f"/api/v1/onboard/funnel?hours={largest.hours}", creds.bearer),
            Target("failures", f"/api/v1/onboard/failures?hours={largest.hours}", creds.bearer),
            Target("healthz", "/healthz", {}),
        ]
        for connections in CONNECTIONS:
            load[connections] = await rates(
                largest.port, targets, connections, plan.load_seconds, plan.load_turns
            )
    for size, store in stores.items():
        found = measured[size]
        hours = servers[size].hours
        name = label(size)
        section.add(*http_figures(size, found.funnel, found.healthz, judged=size == plan.largest))
        if size == plan.largest:
            for connections, slices in load.items():
                section.add(*load_figures("funnel", name, connections, slices))
        comparison = await compare(store.path, hours, plan.compare_runs, plan.compare_seconds)
        agree = "" if comparison.agree else "answers differ from ours!"
        section.add(
            Figure(
                f"funnel.{size}.naive_ratio",
                f"naive json_extract / ours, nothing kept, at {name}",
                comparison.naive_ratio,
                "x",
                note=agree or spread(comparison.naive_ratios),
            ),
            Figure(
                f"funnel.{size}.duckdb_ratio",
                f"DuckDB / ours, nothing kept, at {name}",
                comparison.duckdb_ratio,
                "x",
                note=comparison.duckdb_error or agree or spread(comparison.duckdb_ratios),
            ),
        )
        section.details[str(size)] = {
            "events": store.events,
            "sessions": store.sessions,
            "window_hours": hours,
            "cohort_in_response": found.document.get("cohort"),
            "funnel": found.funnel.as_dict(),
            "healthz": found.healthz.as_dict(),
            "load": {
                str(connections): slices.as_dict()
                for connections, slices in load.items()
                if size == plan.largest
            },
            "in_process": comparison.as_dict(),
        }
    section.add(
        *flat_figures(
            {size: m.funnel.p95 for size, m in measured.items()},
            {size: m.healthz.p95 for size, m in measured.items()},
        )
    )
    return section


def flat_figures(p95s: Mapping[int, float], healthz_p95s: Mapping[int, float]) -> list[Figure]:
    """The funnel's p95 at the largest size over the smallest, plainly and against /healthz
    (each size's funnel p95 over its own server's /healthz p95, measured in the same
    rounds: what is left of a difference between the servers' processes)."""
    smallest, largest = min(p95s), max(p95s)
    return [
        Figure(
            "funnel.flatness",
            f"flat: p95 at {label(largest)} / p95 at {label(smallest)}",
            p95s[largest] / p95s[smallest],
            "x",
            goal(FLAT_GOAL),
        ),
        Figure(
            "funnel.flatness_vs_healthz",
            f"flat against /healthz: (p95 / healthz p95) at {label(largest)} / at "
            f"{label(smallest)}",
            (p95s[largest] / healthz_p95s[largest]) / (p95s[smallest] / healthz_p95s[smallest]),
            "x",
            goal(FLAT_GOAL),
        ),
    ]
