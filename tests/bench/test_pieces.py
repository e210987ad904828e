"""Small pure pieces: percentiles, the desk's module graph, the emission baseline choice."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from bench.budgets import Figure, Section, budget
from bench.desk import _ASSET, imports_of, resolve
from bench.emission import (
    added_figures,
    case_order,
    orders_cycle,
    slice_differences,
    slices_for,
)
from bench.latency import Bound, Summary, alternate, alternate_slices, percentile
from bench.report import table
from vm122_ops.routes.pages import ASSEMBLED


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)],
)
def test_nearest_rank_percentile(fraction: float, expected: float) -> None:
    assert percentile([float(x) for x in range(100, 0, -1)], fraction) == expected


async def test_alternate_is_bounded_in_count() -> None:
    calls: list[str] = []

    async def a() -> float:
        calls.append("a")
        return 0.001

    async def b() -> float:
        calls.append("b")
        return 0.002

    samples = await alternate([a, b], Bound(count=4, seconds=60, warmup=1))
    assert calls == ["a", "b"] * 5
    assert samples == [[0.001] * 4, [0.002] * 4]
    assert Summary.of(samples[1]).p99 == pytest.approx(2.0)


def test_module_specifiers_resolve_like_a_browser() -> None:
    assert resolve("/js/main.js", "./views/dashboard.js") == "/js/views/dashboard.js"
    assert resolve("/js/views/dashboard.js", "../api.js") == "/js/api.js"
    source = 'import { a } from "./a.js";\nimport {\n  b,\n} from "../b.js";\n'
    assert imports_of("/js/views/x.js", source) == ["/js/views/a.js", "/js/b.js"]


def test_the_dashboard_page_names_its_stylesheet_and_entry_module() -> None:
    page = ASSEMBLED["index"].decode()
    assert set(_ASSET.findall(page)) >= {"/css/desk.css", "/js/main.js"}


def summaries(off: float, up: float, down: float, hanging: float) -> dict[str, Summary]:
    return {
        name: Summary(count=100, p50=p99 / 2, p95=p99, p99=p99, max=p99)
        for name, p99 in {"off": off, "up": up, "down": down, "hanging": hanging}.items()
    }


def test_emission_is_judged_against_off_when_off_emits_nothing() -> None:
    figures, baseline = added_figures(summaries(30, 31, 32, 260), emitted_when_off=False)
    assert baseline == "off"
    judged = {f.key: f for f in figures if f.limit is not None and f.limit.kind == "budget"}
    assert judged["emission.up.p99_added_ms"].value == 1
    assert judged["emission.hanging.p99_added_ms"].fails_check  # 230 ms added


def test_emission_without_the_switch_is_pending_for_up_and_judged_against_up() -> None:
    figures, baseline = added_figures(summaries(30, 31, 32, 33), emitted_when_off=True)
    assert baseline == "up"
    by_key = {f.key: f for f in figures}
    assert by_key["emission.up.p99_added_ms"].status == "PENDING"
    assert by_key["emission.down.p99_added_ms"].value == 1
    assert not any(f.fails_check for f in figures)


def test_the_table_shows_figure_limit_and_verdict() -> None:
    text = table([Section("1 funnel", [Figure("k", "funnel p95 at 1M", 612.0, "ms", budget(500))])])
    assert "| 1 funnel  | funnel p95 at 1M | 612 ms | budget < 500 ms | BUDGET MISSED |" in text


def test_emission_judges_p50_and_p99_added_against_the_2_ms_goal() -> None:
    def summary(p50: float, p99: float) -> Summary:
        return Summary(count=100, p50=p50, p95=p99, p99=p99, max=p99)

    summaries = {
        "off": summary(10.0, 20.0),
        "up": summary(11.0, 21.0),
        "down": summary(13.5, 21.5),
        "hanging": summary(10.5, 25.0),
    }
    figures, baseline = added_figures(summaries, emitted_when_off=False)
    assert baseline == "off"
    by_label = {figure.label: figure for figure in figures}
    assert by_label["p50 added, Ops up (vs off)"].status == "met"
    assert by_label["p50 added, Ops down (vs off)"].value == 3.5
    assert by_label["p50 added, Ops down (vs off)"].status == "goal missed"
    assert by_label["p99 added, Ops hanging (vs off), our goal"].status == "goal missed"
    assert by_label["p99 added, Ops hanging (vs off)"].status == "met"  # the 200 ms budget


def test_slice_differences_take_each_slice_p99_of_the_same_rounds() -> None:
    """Two slices of 100 requests each: the case is 3 ms slower than the baseline at the
    top of the first slice and 1 ms at the top of the second."""
    base = [0.010] * 100 + [0.020] * 100
    case = [0.010] * 98 + [0.013, 0.013] + [0.020] * 98 + [0.021, 0.021]
    assert slice_differences(case, base, 2) == [pytest.approx(3.0), pytest.approx(1.0)]
    with pytest.raises(ValueError, match="3 requests against 2"):
        slice_differences([0.1] * 3, [0.1] * 2, 1)
    with pytest.raises(ValueError, match="cannot make 4 slices"):
        slice_differences([0.1] * 3, [0.1] * 3, 4)
    assert slices_for(750) == 7
    assert slices_for(99) == 1


def test_the_p99_goal_is_the_median_of_slices_and_a_burst_in_one_slice_does_not_move_it() -> None:
    """Three slices of 100 requests: emission adds 1 ms at the top of every slice, but a
    burst of other work lands on six of "up"'s requests in the first slice (+40 ms). The
    pooled p99 difference says 32 ms and would miss the goal; the median of the slices
    says 1 ms. The budget (200 ms) stays on the pooled difference."""
    rng = random.Random(7)
    base = [rng.uniform(0.005, 0.020) for _ in range(300)]
    up = [b + 0.001 for b in base]
    for i in rng.sample(range(100), 6):
        up[i] += 0.040
    latencies = {"off": base, "up": up, "down": up, "hanging": base}
    summaries = {name: Summary.of(values) for name, values in latencies.items()}
    figures, baseline = added_figures(summaries, emitted_when_off=False, latencies=latencies)
    assert baseline == "off"
    by_key = {f.key: f for f in figures}
    pooled = by_key["emission.up.p99_added_ms"]
    assert pooled.value == pytest.approx(32.18, abs=0.01)
    assert pooled.limit is not None and pooled.limit.kind == "budget"
    judged = by_key["emission.up.p99_added_goal"]
    assert judged.value == pytest.approx(1.0)
    assert judged.status == "met"
    assert (
        judged.label == "p99 added, Ops up (vs off), our goal: median of 3 slices' p99 differences"
    )
    assert judged.note == "slices +1.0 to +35.0 ms"  # the burst is in the first slice
    assert by_key["emission.hanging.p99_added_goal"].value == 0.0


async def test_alternate_slices_take_turns_between_groups_and_wake_each_slice() -> None:
    """Two servers' probes: three rounds of each in slices of two rounds; every slice opens
    with an untimed call of its group's first probe, and only the rounds are samples."""
    calls: list[str] = []

    def probe(name: str, seconds: float) -> Callable[[], Awaitable[float]]:
        async def timed() -> float:
            calls.append(name)
            return seconds

        return timed

    groups = [[probe("a1", 0.001), probe("a2", 0.002)], [probe("b1", 0.003), probe("b2", 0.004)]]
    samples = await alternate_slices(groups, Bound(count=3, seconds=60, warmup=1), per_slice=2)
    warmup = ["a1", "a2", "b1", "b2"]
    assert calls == [
        *warmup,
        *["a1", "a1", "a2", "a1", "a2"],
        *["b1", "b1", "b2", "b1", "b2"],
        *["a1", "a1", "a2"],
        *["b1", "b1", "b2"],
    ]
    assert samples == [[[0.001] * 3, [0.002] * 3], [[0.003] * 3, [0.004] * 3]]


@pytest.mark.parametrize("cases", [2, 3, 4, 5])
def test_each_case_follows_every_other_equally_often(cases: int) -> None:
    """The order of the cases within a step is a balanced (Williams) design: over a full
    cycle of rows every case runs once per row, and every ordered pair (a, b) of two
    cases is adjacent equally often. A plain rotation (0 1 2 3, 1 2 3 0, ...) puts "down"
    right after "up" in 3 rows of 4 and never "off" after "up": a Portal's delivery work,
    landing ~20 ms after its request, then weighs on one case only."""
    cycle = orders_cycle(cases)
    assert all(sorted(row) == list(range(cases)) for row in cycle)
    adjacent = Counter((row[i], row[i + 1]) for row in cycle for i in range(cases - 1))
    assert len(adjacent) == cases * (cases - 1)
    assert len(set(adjacent.values())) == 1
    assert case_order(cases, 0) == cycle[0]
    assert case_order(cases, len(cycle) + 1) == cycle[1]


def test_the_four_cases_in_their_balanced_order() -> None:
    assert orders_cycle(4) == [(0, 1, 3, 2), (1, 2, 0, 3), (2, 3, 1, 0), (3, 0, 2, 1)]
