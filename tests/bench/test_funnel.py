"""The funnel benchmark's own measuring code against a deliberately slow stand-in Ops."""

from __future__ import annotations

import itertools

from bench.budgets import Section, failures
from bench.funnel import flat_figures, http_figures, measure_http
from bench.latency import Bound
from bench.load import Target, load_figures, rates
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


async def test_concurrent_load_takes_turns_and_judges_the_ratio_as_a_goal() -> None:
    """bench/load.py against the stand-in: the funnel (20 ms each) serves far fewer
    requests/s than /healthz on the same connections; the ratio is a missed goal that
    does not fail the check, with its margin in the note."""
    async with SlowOps.serving(funnel_delay=0.02) as slow:
        targets = [
            Target("funnel", "/api/v1/onboard/funnel?hours=48", {"authorization": "Bearer x"}),
            Target("healthz", "/healthz", {}),
        ]
        found = await rates(slow.port, targets, connections=4, seconds=0.3, slices=2)
    assert set(found) == {"funnel", "healthz"}
    assert 0.55 <= found["funnel"].seconds <= 1.0  # two slices of 0.3 s
    # 4 connections x 0.6 s / 20 ms: about 120 funnel requests, far fewer than /healthz.
    assert 40 <= found["funnel"].requests <= 125
    assert found["healthz"].requests > 3 * found["funnel"].requests
    # Slices take turns: after the warm-up, funnel then healthz then funnel again.
    paths = [path.split("?")[0] for path in slow.requests]
    turns = [paths[0]] + [b for a, b in itertools.pairwise(paths) if a != b]
    assert turns[:4] == ["/api/v1/onboard/funnel", "/healthz"] * 2
    figures = load_figures("funnel", "stand-in", 4, found)
    ratio = next(f for f in figures if f.key == "funnel.load.4.funnel_healthz_ratio")
    assert ratio.value is not None and ratio.value < 0.5
    assert ratio.status == "goal missed"
    assert ratio.note.startswith("margin 0.")
    assert failures([Section("1 funnel", figures)]) == []


def test_flatness_plainly_and_against_healthz() -> None:
    """A machine 1.5x slower at 1M than at 10k makes the plain quotient 1.5x; /healthz,
    slower alike, takes it out."""
    figures = {
        f.key: f for f in flat_figures({10_000: 1.0, 1_000_000: 1.5}, {10_000: 0.4, 1_000_000: 0.6})
    }
    assert figures["funnel.flatness"].value == 1.5
    assert figures["funnel.flatness"].status == "goal missed"
    assert figures["funnel.flatness_vs_healthz"].value == 1.0
    assert figures["funnel.flatness_vs_healthz"].status == "met"
