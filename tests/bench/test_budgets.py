"""The budget checker: a slow figure fails --check; goals and pending figures never do."""

from __future__ import annotations

import pytest

from bench.budgets import Figure, Section, budget, failures, goal


def funnel_p95(value: float | None) -> Figure:
    return Figure("funnel.1000000.p95_ms", "funnel p95 at 1M", value, "ms", budget(500))


@pytest.mark.parametrize(
    ("value", "status", "fails"),
    [
        pytest.param(120.0, "met", False, id="fast"),
        pytest.param(499.9, "met", False, id="just-under"),
        pytest.param(500.0, "BUDGET MISSED", True, id="at-the-budget"),
        pytest.param(612.3, "BUDGET MISSED", True, id="slowed"),
        pytest.param(None, "NOT MEASURED", True, id="not-measured"),
    ],
)
def test_a_funnel_budget_is_judged(value: float | None, status: str, fails: bool) -> None:
    figure = funnel_p95(value)
    assert figure.status == status
    assert figure.fails_check is fails


def test_the_failure_line_names_the_figure_and_the_budget() -> None:
    section = Section("1 funnel", [funnel_p95(612.3)])
    assert failures([section]) == [
        "1 funnel: BUDGET MISSED: funnel p95 at 1M = 612 ms (budget < 500 ms)"
    ]


def test_a_missed_goal_is_named_but_does_not_fail() -> None:
    figure = Figure("x", "funnel p95 / healthz p95", 9.5, "x", goal(3))
    assert figure.status == "goal missed"
    assert not figure.fails_check
    assert failures([Section("1 funnel", [figure])]) == []


def test_a_higher_is_better_goal() -> None:
    assert Figure("x", "ingest / ceiling", 62.0, "%", goal(50, "higher")).status == "met"
    assert Figure("x", "ingest / ceiling", 18.0, "%", goal(50, "higher")).status == "goal missed"


def test_a_pending_budget_is_loud_but_does_not_fail() -> None:
    figure = Figure("e", "p99 added, Ops up", None, "ms", budget(200), pending="needs a switch")
    assert figure.status == "PENDING"
    assert not figure.fails_check


def test_a_crashed_benchmark_fails_the_check() -> None:
    assert failures([Section("5 push", error="ServiceError: ops exited")]) == [
        "BENCHMARK FAILED: 5 push: ServiceError: ops exited"
    ]
