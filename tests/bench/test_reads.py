"""Benchmark 7 (the Desk's reads) against the slow stand-in Ops: which reads it makes, that
they take turns with /healthz, and the figures and verdicts computed from them."""

from __future__ import annotations

import itertools

from bench.budgets import Section, failures
from bench.latency import Bound, Summary
from bench.load import Target, load_figures, rates
from bench.reads import Read, busiest_list, flat_figures, measure, plan_reads, read_figures
from tests.bench.standin import STOPPED, SlowOps

AUTH = {"authorization": "Bearer x"}


def test_the_drilldown_measured_is_the_list_with_the_most_sessions() -> None:
    assert busiest_list(STOPPED) == ("account_created", "failed", 300)
    # Completed sessions and those without a stage are not a list of the funnel rows.
    stopped = {"none": {"stuck": 900}, "completed": {"completed": 5000}, "started": {"stuck": 2}}
    assert busiest_list(stopped) == ("started", "stuck", 2)


async def test_a_slow_read_misses_the_budget_and_the_others_are_judged() -> None:
    """The trend answers after 550 ms, the rest at once: the trend's p95 misses the 500 ms
    budget (failing --check) and its 5x goal; every read is measured in turns with
    /healthz, the drill-down's second page with the cursor of the first."""
    delays = {"/api/v1/onboard/trend": 0.55}
    async with SlowOps.serving(funnel_delay=0.0, delays=delays) as slow:
        reads, chosen = await plan_reads(slow.port, AUTH, 50)
        summaries = await measure(slow.port, AUTH, reads, Bound(count=3, seconds=10, warmup=0))
    assert chosen["drilldown"] == {
        "stage": "account_created",
        "state": "failed",
        "rows": 300,
        "total": 120,
    }
    paths = {read.key: read.path for read in reads}
    assert paths["drilldown"] == (
        "/api/v1/onboard/funnel/sessions?hours=50&stage=account_created&state=failed&limit=50"
    )
    assert paths["drilldown_next"] == paths["drilldown"] + "&cursor=MTc5NTk1MzYwMDAwMDpz"
    assert paths["trend2160"] == "/api/v1/onboard/trend?hours=2160"
    assert paths["failures"] == "/api/v1/onboard/failures?hours=50"
    # Session 42's support reference as a customer reads it out.
    assert paths["search_reference"] == "/api/v1/desk/search?q=8jph-rqjs"
    assert [read.key for read in reads if not read.load] == ["failures"]
    assert {key: summary.count for key, summary in summaries.items()} == dict.fromkeys(
        [*paths, "healthz"], 3
    )
    # One request of each read, then /healthz, per round (after the two planning reads and
    # the untimed request that opens the slice).
    assert slow.requests[2] == paths["drilldown"]
    assert paths["breakdown"] == "/api/v1/onboard/breakdown?hours=50&by=release"
    assert paths["breakdown_trend2160"] == ("/api/v1/onboard/breakdown/trend?hours=2160&by=release")
    assert len(slow.requests) == 2 + 1 + 3 * 14
    round_ = [path.split("?")[0] for path in slow.requests[3:17]]
    assert round_ == [
        "/api/v1/onboard/funnel/sessions",
        "/api/v1/onboard/funnel/sessions",
        "/api/v1/desk/tickets",
        "/api/v1/desk/search",
        "/api/v1/desk/search",
        "/api/v1/desk/search",
        "/api/v1/desk/search",
        "/api/v1/onboard/failures",
        "/api/v1/onboard/trend",
        "/api/v1/onboard/trend",
        "/api/v1/onboard/breakdown",
        "/api/v1/onboard/breakdown/trend",
        "/api/v1/onboard/breakdown/trend",
        "/healthz",
    ]
    assert summaries["trend72"].p95 >= 550 and summaries["trend2160"].p95 >= 550
    figures = read_figures(100_000, reads, summaries, judged=True)
    by_key = {figure.key: figure for figure in figures}
    assert by_key["reads.100000.trend72.p95_ms"].status == "BUDGET MISSED"
    assert by_key["reads.100000.tickets.p95_ms"].status == "met"
    ratio = by_key["reads.100000.trend2160.healthz_ratio"]
    assert ratio.value == summaries["trend2160"].p95 / summaries["healthz"].p95
    assert ratio.status == "goal missed"
    lines = failures([Section("7 reads", figures)])
    assert [line.split(" = ")[0] for line in lines] == [
        "7 reads: BUDGET MISSED: trend 72 h p95 at 100k",
        "7 reads: BUDGET MISSED: trend 2160 h p95 at 100k",
    ]
    # A smaller size carries no budget: slow there is reported, not failed.
    small = read_figures(10_000, reads, summaries, judged=False)
    assert failures([Section("7 reads", small)]) == []


def test_flatness_is_the_largest_size_over_the_smallest_per_read() -> None:
    reads = [Read("search", "search", "/s"), Read("trend72", "trend 72 h", "/t")]
    p95s = {10_000: {"search": 2.0, "trend72": 1.0}, 1_000_000: {"search": 2.5, "trend72": 4.0}}
    figures = {figure.key: figure for figure in flat_figures(reads, p95s)}
    assert figures["reads.search.flatness"].value == 1.25
    assert figures["reads.search.flatness"].status == "met"
    assert figures["reads.search.flatness"].label == "search flat: p95 at 1M / p95 at 10k"
    assert figures["reads.trend72.flatness"].value == 4.0
    assert figures["reads.trend72.flatness"].status == "goal missed"
    assert failures([Section("7 reads", list(figures.values()))]) == []  # goals never fail


def test_flatness_against_healthz_takes_out_the_machine_slowing_between_sizes() -> None:
    """The sizes run minutes apart on servers of their own: when the machine is 1.6x slower
    at 1M, /healthz is too, and each read's ratio to it stays what it was."""
    reads = [Read("search", "search", "/s"), Read("trend72", "trend 72 h", "/t")]
    p95s = {
        10_000: {"search": 2.0, "trend72": 1.0, "healthz": 0.5},
        1_000_000: {"search": 3.2, "trend72": 4.0, "healthz": 0.8},
    }
    figures = {figure.key: figure for figure in flat_figures(reads, p95s)}
    assert figures["reads.search.flatness"].value == 1.6
    assert figures["reads.search.flatness"].status == "goal missed"
    relative = figures["reads.search.flatness_vs_healthz"]
    assert relative.value == 1.0
    assert relative.status == "met"
    assert relative.label == "search flat against /healthz: (p95 / healthz p95) at 1M / at 10k"
    assert figures["reads.trend72.flatness_vs_healthz"].value == 2.5
    assert figures["reads.trend72.flatness_vs_healthz"].status == "goal missed"


async def test_concurrent_load_of_each_read_beside_healthz() -> None:
    """bench/load.py with the reads' targets: they take turns in slices with /healthz,
    each gets its rate and its ratio to /healthz judged as a goal with its margin."""
    delays = {"/api/v1/desk/search": 0.02}
    async with SlowOps.serving(funnel_delay=0.0, delays=delays) as slow:
        targets = [
            Target("search", "/api/v1/desk/search?q=cliente1", AUTH),
            Target("tickets", "/api/v1/desk/tickets?limit=50", AUTH),
            Target("healthz", "/healthz", {}),
        ]
        found = await rates(slow.port, targets, connections=4, seconds=0.2, turns=2)
    paths = [path.split("?")[0] for path in slow.requests]
    turns = [paths[0]] + [b for a, b in itertools.pairwise(paths) if a != b]
    # The warm-up (each target once), then /healthz between every two reads' slices.
    s, t, h = "/api/v1/desk/search", "/api/v1/desk/tickets", "/healthz"
    assert turns == [s, t, h] + [s, h, t, h] * 2
    assert len(found.ratios("search")) == len(found.ratios("tickets")) == 2
    figures = {f.key: f for f in load_figures("reads", "stand-in", 4, found)}
    search = figures["reads.load.4.search_healthz_ratio"]
    assert search.value is not None and search.value < 0.5
    assert search.status == "goal missed"
    assert search.note.startswith("margin 0.")
    assert figures["reads.load.4.tickets_healthz_ratio"].value is not None
    assert set(figures) == {
        "reads.load.4.search_rps",
        "reads.load.4.tickets_rps",
        "reads.load.4.healthz_rps",
        "reads.load.4.search_healthz_ratio",
        "reads.load.4.tickets_healthz_ratio",
    }
    assert failures([Section("7 reads", list(figures.values()))]) == []


def test_a_missing_healthz_figure_leaves_the_ratio_unmeasured() -> None:
    zero = Summary(count=1, p50=0.0, p95=0.0, p99=0.0, max=0.0)
    one = Summary(count=1, p50=1.0, p95=1.0, p99=1.0, max=1.0)
    [_, _, ratio] = read_figures(
        10_000, [Read("search", "search", "/s")], {"search": one, "healthz": zero}, judged=False
    )
    assert ratio.value is None and ratio.status == "NOT MEASURED"
