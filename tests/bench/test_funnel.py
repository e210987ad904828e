"""The funnel benchmark's own measuring code against a deliberately slow stand-in Ops."""

from __future__ import annotations

from bench.budgets import Section, failures
from bench.funnel import http_figures, measure_http
from bench.latency import Bound
from tests.bench.standin import SlowOps


async def test_a_slow_funnel_server_misses_the_budget() -> None:
    async with SlowOps.serving(funnel_delay=0.55) as slow:
        funnel, healthz, document = await measure_http(
            slow.port, {"authorization": "Bearer x"}, 48, Bound(count=3, seconds=5, warmup=0)
        )
    assert document["cohort"] == 7
    assert funnel.count == healthz.count == 3
    assert funnel.p95 >= 550
    assert healthz.p95 < 100
    # Funnel and /healthz alternate on the same server.
    assert slow.requests[1:7] == ["/api/v1/onboard/funnel?hours=48", "/healthz"] * 3
    figures = http_figures(100_000, funnel, healthz, judged=True)
    [line] = failures([Section("1 funnel", figures)])
    assert line.startswith("1 funnel: BUDGET MISSED: funnel p95 at 100k = ")
    assert line.endswith("ms (budget < 500 ms)")
