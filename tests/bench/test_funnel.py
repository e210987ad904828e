"""The funnel benchmark's own measuring code against a deliberately slow stand-in Ops."""

from __future__ import annotations

import itertools

import pytest

from bench.budgets import Section, failures
from bench.funnel import Server, flat_figures, http_figures, measure_sizes
from bench.latency import Bound
from bench.load import Target, load_figures, rates
from tests.bench.standin import SlowOps


async def test_a_slow_funnel_server_misses_the_budget() -> None:
    """Two sizes' servers up at once, a fast one and a deliberately slow one (the funnel
    after 550 ms): the sizes take turns in slices of rounds of one funnel and one /healthz
    request, and the slow size's p95 is a BUDGET MISSED line of the check."""
    async with (
        SlowOps.serving(funnel_delay=0.0) as fast,
        SlowOps.serving(funnel_delay=0.55) as slow,
    ):
        fast.requests = slow.requests  # one log of both servers' requests, in order
        measured = await measure_sizes(
            {10_000: Server(fast.port, 48), 100_000: Server(slow.port, 50)},
            {"authorization": "Bearer x"},
            Bound(count=3, seconds=5, warmup=0),
            per_slice=2,
        )
    small, large = measured[10_000], measured[100_000]
    assert small.document["cohort"] == large.document["cohort"] == 7
    assert small.funnel.count == small.healthz.count == large.funnel.count == 3
    assert large.funnel.p95 >= 550
    assert small.funnel.p95 < 100 and large.healthz.p95 < 100
    # Slices of two rounds (one in the last) take turns between the sizes, each slice
    # opened by an untimed funnel request that wakes its server.
    small_f, large_f = "/api/v1/onboard/funnel?hours=48", "/api/v1/onboard/funnel?hours=50"
    h = "/healthz"
    assert slow.requests[2:] == [
        *[small_f, small_f, h, small_f, h],
        *[large_f, large_f, h, large_f, h],
        *[small_f, small_f, h],
        *[large_f, large_f, h],
    ]
    figures = http_figures(100_000, large.funnel, large.healthz, judged=True)
    [line] = failures([Section("1 funnel", figures)])
    assert line.startswith("1 funnel: BUDGET MISSED: funnel p95 at 100k = ")
    assert line.endswith("ms (budget < 500 ms)")
    # The smaller size carries no budget.
    assert (
        failures(
            [Section("1 funnel", http_figures(10_000, small.funnel, small.healthz, judged=False))]
        )
        == []
    )


async def test_concurrent_load_takes_turns_and_judges_the_ratio_as_a_goal() -> None:
    """bench/load.py against the stand-in: the funnel (20 ms each) serves far fewer
    requests/s than /healthz on the same connections, /healthz runs between every two
    read slices, and the ratio (the median of each funnel slice over the /healthz slices
    beside it) is a missed goal that does not fail the check, with its margin."""
    async with SlowOps.serving(funnel_delay=0.02) as slow:
        targets = [
            Target("funnel", "/api/v1/onboard/funnel?hours=48", {"authorization": "Bearer x"}),
            Target("healthz", "/healthz", {}),
        ]
        found = await rates(slow.port, targets, connections=4, seconds=0.3, turns=2)
    assert found.order == ["healthz", "funnel", "healthz", "funnel", "healthz"]
    funnel = found.total("funnel")
    assert 0.55 <= funnel.seconds <= 1.0  # two slices of 0.3 s
    # 4 connections x 0.6 s / 20 ms: about 120 funnel requests, far fewer than /healthz.
    assert 40 <= funnel.requests <= 125
    assert found.total("healthz").requests > 3 * funnel.requests
    # Slices take turns: the warm-up's funnel and healthz, then (healthz,) funnel,
    # healthz, funnel, healthz.
    paths = [path.split("?")[0] for path in slow.requests]
    turns = [paths[0]] + [b for a, b in itertools.pairwise(paths) if a != b]
    assert turns == ["/api/v1/onboard/funnel", "/healthz"] * 3
    assert len(found.ratios("funnel")) == 2
    figures = load_figures("funnel", "stand-in", 4, found)
    ratio = next(f for f in figures if f.key == "funnel.load.4.funnel_healthz_ratio")
    assert ratio.value is not None and ratio.value < 0.5
    assert ratio.value == pytest.approx(sum(found.ratios("funnel")) / 2)
    assert ratio.status == "goal missed"
    assert ratio.note.startswith("margin 0.")
    assert "median of 2 pairs" in ratio.note
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
