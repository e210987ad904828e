"""Benchmark 1: GET /api/v1/onboard/funnel at each store size, beside GET /healthz.

For each size: Ops on the seeded store; funnel and /healthz requests alternate on two
keep-alive connections (so the machine's noise hits both alike); at the largest size, the
concurrent load of bench/load.py (funnel, failures and /healthz requests/s with 8 and 32
connections, in alternating slices); then, with Ops stopped, Ops' funnel code beside the
naive json_extract aggregate and DuckDB (bench/baselines.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from bench.baselines import compare
from bench.budgets import Figure, Section, budget, goal
from bench.latency import Bound, Summary, alternate
from bench.load import CONNECTIONS, Target, load_figures, rates
from bench.plan import Plan
from bench.seed import cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection

FUNNEL_BUDGET_MS = 500.0
HEALTHZ_RATIO_GOAL = 2.0  # issue 16: a kept answer costs about what a health check costs
FLAT_GOAL = 1.5


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


async def measure_http(
    port: int, headers: dict[str, str], hours: int, bound: Bound
) -> tuple[Summary, Summary, dict[str, object]]:
    """(funnel, healthz) latencies alternated on one server; and the first funnel body."""
    funnel_conn = await Connection.open(HOST, port)
    health_conn = await Connection.open(HOST, port)
    path = f"/api/v1/onboard/funnel?hours={hours}"
    try:
        first = await funnel_conn.request("GET", path, headers)
        if first.status != 200:
            raise ServiceError(f"GET {path} answered {first.status}: {first.body[:200]!r}")
        document = orjson.loads(first.body)

        async def funnel() -> float:
            seconds, reply = await funnel_conn.timed("GET", path, headers)
            if reply.status != 200:
                raise ServiceError(f"GET {path} answered {reply.status}")
            return seconds

        async def healthz() -> float:
            seconds, reply = await health_conn.timed("GET", "/healthz")
            if reply.status != 200:
                raise ServiceError(f"GET /healthz answered {reply.status}")
            return seconds

        funnel_s, health_s = await alternate([funnel, healthz], bound)
    finally:
        await funnel_conn.close()
        await health_conn.close()
    return Summary.of(funnel_s), Summary.of(health_s), document


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
    p95s: dict[int, float] = {}
    healthz_p95s: dict[int, float] = {}
    for size in plan.funnel_sizes:
        store = await cached_store(size)
        hours = store.window_hours()
        load = {}
        async with Fleet() as fleet:
            ops = await fleet.ops(creds, store.path)
            funnel, healthz, document = await measure_http(
                ops.port, creds.bearer, hours, plan.funnel
            )
            if size == plan.largest:
                targets = [
                    Target("funnel", f"/api/v1/onboard/funnel?hours={hours}", creds.bearer),
                    Target("failures", f"/api/v1/onboard/failures?hours={hours}", creds.bearer),
                    Target("healthz", "/healthz", {}),
                ]
                for connections in CONNECTIONS:
                    load[connections] = await rates(
                        ops.port, targets, connections, plan.load_seconds, plan.load_slices
                    )
        p95s[size] = funnel.p95
        healthz_p95s[size] = healthz.p95
        section.add(*http_figures(size, funnel, healthz, judged=size == plan.largest))
        for connections, found in load.items():
            section.add(*load_figures("funnel", label(size), connections, found))
        comparison = await compare(store.path, hours, plan.compare_runs)
        name = label(size)
        agree = "" if comparison.agree else "answers differ from ours!"
        section.add(
            Figure(
                f"funnel.{size}.naive_ratio",
                f"naive json_extract / ours at {name}",
                comparison.naive_ratio,
                "x",
                note=agree,
            ),
            Figure(
                f"funnel.{size}.duckdb_ratio",
                f"DuckDB / ours at {name}",
                comparison.duckdb_ratio,
                "x",
                note=comparison.duckdb_error or agree,
            ),
        )
        section.details[str(size)] = {
            "events": store.events,
            "sessions": store.sessions,
            "window_hours": hours,
            "cohort_in_response": document.get("cohort"),
            "funnel": funnel.as_dict(),
            "healthz": healthz.as_dict(),
            "load": {
                str(connections): {
                    name: {"requests": rate.requests, "seconds": round(rate.seconds, 3)}
                    for name, rate in found.items()
                }
                for connections, found in load.items()
            },
            "in_process": comparison.as_dict(),
        }
    section.add(*flat_figures(p95s, healthz_p95s))
    return section


def flat_figures(p95s: Mapping[int, float], healthz_p95s: Mapping[int, float]) -> list[Figure]:
    """The funnel's p95 at the largest size over the smallest, plainly and against /healthz
    (the sizes run minutes apart: /healthz, measured in turns with the funnel on the same
    server, carries the machine's drift between them and divides it out)."""
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
