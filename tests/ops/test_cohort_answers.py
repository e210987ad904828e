"""The drill-down and the conversion trend answered from memory (vm122_ops/kept/cohort_answers.py,
trend.answer_text): equal to a fresh computation after random events, windows, pages and hour
boundaries; one computation for a burst of identical requests; a page whose rows would
be newer than the kept totals is computed whole instead."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from tests.support.kept import bounds_off, moment_of
from vm122_ops.app_state import AppState
from vm122_ops.funnel import cohort, trend
from vm122_ops.ingest.events import STAGE_TYPES, STAGES
from vm122_ops.kept.cohort_answers import answer_page
from vm122_ops.kept.memo import Memo

HAPPY = list(STAGE_TYPES)
SESSIONS = "/api/v1/onboard/funnel/sessions"
TREND = "/api/v1/onboard/trend"
BASIS = "funnel basis"  # the memo's kind of the funnel's kept basis


def app_state(ops: Ops) -> AppState:
    assert ops.app is not None
    state: AppState = ops.app.state.ops
    return state


async def fresh_page(
    ops: Ops, hours: int, params: dict[str, Any], at: int | None = None
) -> dict[str, Any]:
    """cohort.page computed now (or ``at``) in one snapshot, as the route answered before
    the cache."""
    now_ms = int(ops.clock.now * 1000) if at is None else at
    window = cohort.CohortWindow(since_ms=now_ms - hours * 3_600_000, now_ms=now_ms)
    filters = cohort.CohortFilter(state=params["state"], stage=params.get("stage"))
    before = cohort.decode_cursor(params["cursor"]) if params.get("cursor") else None
    rule = app_state(ops).settings.state_rule
    page = await ops.db.read(cohort.page, window, rule, filters, params["limit"], before)
    return {**page.document(hours), "ok": True}


async def fresh_trend(ops: Ops, hours: int, at: int | None = None) -> dict[str, Any]:
    """trend.series computed now (or ``at``) in one snapshot."""
    now_ms = int(ops.clock.now * 1000) if at is None else at
    rule = app_state(ops).settings.state_rule
    found = await ops.db.read(trend.series, hours, now_ms, rule.abandon_hours)
    return {**found.document(), "ok": True}


async def pages(ops: Ops, hours: int, state: str, stage: str | None) -> int:
    """Every page of one list (3 a page) equals the fresh computation; returns the total."""
    params: dict[str, Any] = {"hours": hours, "state": state, "limit": 3}
    if stage is not None:
        params["stage"] = stage
    total = -1
    for _ in range(40):
        got = await ops.get(SESSIONS, **params)
        # The page at its own millisecond; but for the window's bounds, the page now.
        assert got == await fresh_page(ops, hours, params, moment_of(got)), (hours, state)
        now = await fresh_page(ops, hours, params)
        assert bounds_off(got) == bounds_off(now), (hours, state, stage)
        total = int(got["total"])
        if got["next"] is None:
            return total
        params["cursor"] = got["next"]
    raise AssertionError("more than 40 pages")


async def test_kept_answers_equal_a_fresh_computation(ops: Ops) -> None:
    """Random events (new sessions, steps, failures with and without a step, late earlier
    events) over hours of clock moving by random steps, sometimes onto an hour boundary;
    after each step, random windows' drill-down lists (every page) and trend series are
    read twice, the second time at a later millisecond of the same start hour (a kept
    basis), and each equals the fresh computation at that instant."""
    rng = random.Random(12)
    state = app_state(ops)
    progress: dict[str, int] = {}
    ops.clock.now = NOW - 30 * HOUR + 0.321
    seen: set[tuple[str, str]] = set()
    kept = 0
    for round_ in range(30):
        for _ in range(rng.randint(0, 8)):
            session = f"s{rng.randint(0, 20 + 6 * round_)}"  # older ones go idle
            step = progress.get(session, -1) + 1
            back = rng.choice([0.3 * HOUR, 0.3 * HOUR, 6 * HOUR, 36 * HOUR])  # some very late
            at = ops.clock.now - rng.uniform(0, back)
            data: dict[str, str] = {}
            if step < len(HAPPY) and rng.random() < 0.85:
                event_type = HAPPY[step]
                progress[session] = step
            else:
                event_type = "onboarding.failed"
                data["code"] = rng.choice(["carbonio:account.DOMAIN_EXISTS", "portal:timeout"])
                if rng.random() < 0.5:
                    data["stage"] = rng.choice(STAGES[1:5])
                progress[session] = -1
            assert (await ops.send(event_type, session, at, **data)).status_code == 202
        if rng.random() < 0.3:  # a whole run, completed
            start = ops.clock.now - rng.uniform(60, 4 * HOUR)
            for number, event_type in enumerate(HAPPY):
                sent = await ops.send(event_type, f"done{round_}", start + number * 20)
                assert sent.status_code == 202
        if rng.random() < 0.2:
            ops.clock.now = (int(ops.clock.now // HOUR) + 1) * HOUR
        else:
            ops.clock.now += rng.choice(
                [0.001, 0.5, rng.uniform(1, 1800), rng.uniform(0, 4 * HOUR)]
            )
        for hours in rng.sample([1, 2, 5, 24, 30, 48], 2):
            for read in range(2):
                before = state.memo.computed[BASIS]
                for wanted in ("moving", "stuck", "abandoned", "failed", "completed"):
                    stage = rng.choice([None, None, *STAGES])
                    if await pages(ops, hours, wanted, stage):
                        seen.add((wanted, "any" if stage is None else stage))
                if await pages(ops, hours, "started", None):  # every state, every stage
                    seen.add(("started", "any"))
                for span in rng.sample([1, 3, 72, 73, 500, 2160], 2):
                    # The series at its own millisecond; but for generated_at, the one now.
                    series = await ops.get(TREND, hours=span)
                    assert series == await fresh_trend(ops, span, moment_of(series))
                    assert bounds_off(series) == bounds_off(await fresh_trend(ops, span))
                if read:
                    kept += state.memo.computed[BASIS] == before
                if rng.random() < 0.25:  # no new event, the next hour: new start hours
                    ops.clock.now = (int(ops.clock.now // HOUR) + 1) * HOUR + 0.002
                elif int((ops.clock.now + 0.05) // HOUR) == int(ops.clock.now // HOUR):
                    ops.clock.now += 0.05  # the same start hour: from the kept basis
    # The lists were not empty: every state was met with sessions in some window.
    met = {wanted for wanted, _ in seen}
    assert met == {"moving", "stuck", "abandoned", "failed", "completed", "started"}
    assert kept > 15  # many second reads took their totals from a kept basis


async def test_a_burst_of_identical_requests_costs_one_computation(ops: Ops) -> None:
    state = app_state(ops)
    ops.clock.now = NOW + 600
    await ops.send("onboarding.started", "burst", NOW - 3 * HOUR)
    await ops.send("domain.validated", "burst", NOW - 3 * HOUR + 5)
    await ops.send("onboarding.started", "fails", NOW - 900)
    await ops.send("onboarding.failed", "fails", NOW - 800, code="portal:timeout")

    async def burst(path: str, **params: Any) -> list[dict[str, Any]]:
        responses = await asyncio.gather(
            *(ops.client.get(path, params=params, headers=AUTH) for _ in range(25))
        )
        assert [response.status_code for response in responses] == [200] * 25
        return [response.json() for response in responses]

    lists = {"hours": 24, "state": "stuck", "stage": "domain_validated"}
    for kind, path, params in (
        (BASIS, SESSIONS, lists),
        ("trend", TREND, {"hours": 72}),
    ):
        before = state.memo.computed[kind]
        documents = await burst(path, **params)
        assert state.memo.computed[kind] == before + 1
        assert all(document == documents[0] for document in documents)
        await burst(path, **params)
        ops.clock.now += 1.5  # a second later, the same start hour: still kept
        await burst(path, **params)
        assert state.memo.computed[kind] == before + 1
    stuck = (await burst(SESSIONS, **lists))[0]
    assert (stuck["total"], [item["session_id"] for item in stuck["items"]]) == (1, ["burst"])
    series = (await burst(TREND, hours=72))[0]
    assert sum(period["failed"] for period in series["periods"]) == 1
    # A new event: one computation each, and the answers see it.
    await ops.send("onboarding.started", "burst-2", ops.clock.now - 2 * HOUR)
    for kind, path, params in (
        (BASIS, SESSIONS, lists | {"state": "moving", "stage": "started"}),
        ("trend", TREND, {"hours": 72}),
    ):
        before = state.memo.computed[kind]
        documents = await burst(path, **params)
        assert state.memo.computed[kind] == before + 1
    assert sum(period["entered"] for period in documents[0]["periods"]) == 3
    moving = (await burst(SESSIONS, hours=24, state="stuck", stage="started"))[0]
    assert [item["session_id"] for item in moving["items"]] == ["burst-2"]


async def test_rows_newer_than_the_kept_totals_are_computed_whole(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event committed after the basis was kept and not yet announced (the stamp has
    not moved): the page's rows would be newer than its totals, so the page is
    computed in one snapshot, and equals the fresh one."""
    state = app_state(ops)
    ops.clock.now = NOW + 600
    await ops.send("onboarding.started", "a", NOW - 3 * HOUR)
    private = Memo()
    monkeypatch.setattr(ops.db, "data_version", lambda: 1)  # a stamp that does not move
    rule = state.settings.state_rule
    filters = cohort.CohortFilter(state="stuck", stage="started")
    now_ms = int(ops.clock.now * 1000)
    first = await answer_page(ops.db, private, state.durations, rule, 24, now_ms, filters, 10)
    assert [item.session_id for item in first.items] == ["a"] and first.total == 1
    await ops.send("onboarding.started", "b", NOW - 2 * HOUR)
    found = await answer_page(ops.db, private, state.durations, rule, 24, now_ms, filters, 10)
    assert private.computations == 1  # the kept basis was offered twice, then refused
    assert [item.session_id for item in found.items] == ["b", "a"] and found.total == 2
    assert found.last_event_id == first.last_event_id + 1
    assert {**found.document(24), "ok": True} == await fresh_page(
        ops, 24, {"state": "stuck", "stage": "started", "limit": 10}
    )
