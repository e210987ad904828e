"""The funnel's drill-down (vm122_ops/funnel/cohort.py, GET /api/v1/onboard/funnel/sessions):
exact lists, the same cohort as the funnel, an oracle over random sessions, bad input."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from typing import Any

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.funnel.durations import bucket_of
from vm122_ops.funnel.rollups import percentile
from vm122_ops.ingest.events import STAGE_TYPES, STAGES
from vm122_ops.store.sql import QUERIES

MINUTE = 60.0
LIST = "/api/v1/onboard/funnel/sessions"
STATES = ("moving", "stuck", "abandoned", "failed", "completed", "refused")


async def all_pages(ops: Ops, limit: int = 3, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, page by page; the total each page gave must agree."""
    items: list[dict[str, Any]] = []
    totals = set()
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await ops.get(LIST, **query)
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        totals.add(page["total"])
        cursor = page["next"]
        if cursor is None:
            break
    assert len(totals) == 1
    return items, totals.pop()


async def test_a_stage_row_and_its_lists(ops: Ops) -> None:
    # Sessions of the last 24 h, none completed a step before: every pace is the 15-min floor.
    await ops.send("onboarding.started", "m1", NOW - 5 * MINUTE, domain="moving.pt")
    await ops.send("onboarding.started", "s1", NOW - 40 * MINUTE, domain="stuck-a.pt")
    await ops.send("onboarding.started", "s2", NOW - 30 * MINUTE, domain="stuck-b.pt")
    await ops.send("onboarding.started", "old", NOW - 30 * HOUR, domain="old.pt")  # not in 24 h
    await ops.send("onboarding.started", "f1", NOW - 3 * HOUR, domain="fail.pt")
    await ops.send("domain.validated", "f1", NOW - 3 * HOUR + 60)
    await ops.send(
        "onboarding.failed",
        "f1",
        NOW - 2 * HOUR,
        domain="fail.pt",
        stage="account_created",
        code="carbonio:account.DOMAIN_EXISTS",
        reason='<img src=x onerror="alert(1)">',
    )
    funnel = await ops.funnel(hours=24)
    assert funnel["stopped"]["started"] == {
        "moving": 1,
        "stuck": 2,
        "abandoned": 0,
        "failed": 0,
        "completed": 0,
        "refused": 0,
    }
    # The failure is counted on the step that failed, not the furthest stage reached.
    assert funnel["stopped"]["account_created"]["failed"] == 1
    assert funnel["stopped"]["domain_validated"] == dict.fromkeys(STATES, 0)

    stuck = await ops.get(LIST, hours=24, stage="started", state="stuck")
    assert stuck["total"] == 2 and stuck["next"] is None
    assert [(i["domain"], i["state"], i["last_event_at"]) for i in stuck["items"]] == [
        ("stuck-b.pt", "stuck", "2026-11-29T11:30:00.000Z"),
        ("stuck-a.pt", "stuck", "2026-11-29T11:20:00.000Z"),
    ]
    assert stuck["items"][0] == {
        "session_id": "s2",
        "domain": "stuck-b.pt",
        "stage": "started",
        "state": "stuck",
        "failed_step": None,
        "last_event_type": "onboarding.started",
        "last_event_at": "2026-11-29T11:30:00.000Z",
        "failure_code": None,
        "failure_reason": None,
        "ticket_id": None,
        "contact": None,
        "refusal_code": None,
    }
    failed = await ops.get(LIST, hours=24, stage="account_created", state="failed")
    [item] = failed["items"]
    assert item["session_id"] == "f1" and item["stage"] == "domain_validated"
    assert item["failed_step"] == "account_created"
    assert item["failure_code"] == "carbonio:account.DOMAIN_EXISTS"
    assert item["failure_reason"] == '<img src=x onerror="alert(1)">'
    assert isinstance(item["ticket_id"], int)
    assert (await ops.get(LIST, hours=24, stage="dns_applied", state="failed"))["total"] == 0
    # A 48 h window takes the older session in, abandoned (idle 30 h > 24 h).
    old = await ops.get(LIST, hours=48, stage="started", state="abandoned")
    assert [i["domain"] for i in old["items"]] == ["old.pt"] and old["total"] == 1
    everyone, total = await all_pages(ops, limit=1, hours=48, state="stuck")
    assert [i["session_id"] for i in everyone] == ["s2", "s1"] and total == 2


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"state": "lost"}, "state must be one of"),
        ({}, "state must be one of"),
        ({"state": "stuck", "stage": "dns"}, "stage must be one of"),
        ({"state": "stuck", "hours": "0"}, "hours must be"),
        ({"state": "stuck", "hours": "721"}, "hours must be"),
        ({"state": "stuck", "limit": "0"}, "limit must be"),
        ({"state": "stuck", "limit": "x"}, "limit must be"),
        ({"state": "stuck", "cursor": "bm9wZQ"}, "cursor is not"),
        ({"state": "stuck", "cursor": "%%%"}, "cursor is not"),
        ({"state": "stuck", "domain": "a.pt"}, "unknown query parameter: domain"),
    ],
)
async def test_bad_input_is_a_400_with_a_reason(
    ops: Ops, params: dict[str, str], reason: str
) -> None:
    response = await ops.client.get(LIST, params=params, headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and reason in str(body["error"])


def oracle_state(
    events: list[tuple[str, float, dict[str, Any]]], now_ms: int, paces: list[int]
) -> tuple[str, str, int]:
    """(state, the stage it stopped at, last event ms) of one session, from its events."""
    last_type, last_at, last_data = max(events, key=lambda e: e[1])
    types = {t for t, _, _ in events}
    reached = [STAGE_TYPES.index(t) for t in types if t in STAGE_TYPES]
    furthest = max(reached) if reached else None
    last_ms = round(last_at * 1000)
    if "onboarding.completed" in types:
        return "completed", "completed", last_ms
    if last_type == "onboarding.failed":
        named = last_data.get("stage")
        step = STAGES.index(named) if named else min((furthest or 0) + 1, 5)
        return "failed", STAGES[step], last_ms
    if furthest == 0 and any("refusal" in data for _, _, data in events):
        return "refused", "started", last_ms  # never moving, stuck or abandoned
    idle = now_ms - last_ms
    stage_key = "none" if furthest is None else STAGES[furthest]
    if idle > 24 * 3_600_000:
        return "abandoned", stage_key, last_ms
    if idle > paces[min(furthest or 0, 4)]:
        return "stuck", stage_key, last_ms
    return "moving", stage_key, last_ms


@pytest.mark.parametrize("seed", [3, 11])
async def test_lists_and_counts_equal_an_oracle_and_the_funnel(ops: Ops, seed: int) -> None:
    ops.clock.now = NOW + 23 * MINUTE
    now = ops.clock.now
    rng = random.Random(seed)
    sessions: dict[str, list[tuple[str, float, dict[str, Any]]]] = {}
    for index in range(120):
        at = now - rng.choice([rng.uniform(0, 3 * HOUR), rng.uniform(0, 4 * 24 * HOUR)])
        # Some first attempts are refused (a later one may still validate a domain).
        refusal = {"refusal": {"code": "mailbox_provider"}} if rng.random() < 0.15 else {}
        events: list[tuple[str, float, dict[str, Any]]] = [("onboarding.started", at, refusal)]
        for event_type in STAGE_TYPES[1:]:
            if rng.random() < 0.3:
                break
            at += rng.uniform(10, 5400)
            if at >= now:
                break
            events.append((event_type, at, {}))
        if rng.random() < 0.2 and events[-1][0] != "onboarding.completed":
            data: dict[str, Any] = {"code": rng.choice(["cloudflare:81054", "portal:timeout"])}
            if rng.random() < 0.5:
                data["stage"] = rng.choice(STAGES[1:5])
            events.append(("onboarding.failed", min(at + 1, now), data))
        sessions[f"c{index:03d}"] = events
    order = [(s, e) for s, events in sessions.items() for e in events]
    rng.shuffle(order)
    for session, (event_type, at, data) in order:
        assert (await ops.send(event_type, session, at, **data)).status_code == 202

    now_ms = int(now * 1000)
    first_hour = -(-(now_ms - 7 * 24 * 3_600_000) // 3_600_000)
    paces = []
    for step in range(5):
        histogram: Counter[int] = Counter()
        for events in sessions.values():
            times = {t: round(at * 1000) for t, at, _ in events}
            a, b = STAGE_TYPES[step], STAGE_TYPES[step + 1]
            if a in times and b in times and min(times.values()) // 3_600_000 >= first_hour:
                histogram[bucket_of(times[b] - times[a])] += 1
        p90 = percentile(histogram, 0.9)
        paces.append(max(15 * 60_000, round(p90)) if p90 is not None else 15 * 60_000)

    for hours in (1, 5, 30, 96):
        since_ms = now_ms - hours * 3_600_000
        expected: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for session_id, events in sessions.items():
            if round(min(at for _, at, _ in events) * 1000) < since_ms:
                continue
            state, stage, last_ms = oracle_state(events, now_ms, paces)
            expected.setdefault((stage, state), []).append((last_ms, session_id))
        if hours == 96:  # the random sessions cover every state
            assert {st for _, st in expected} == set(STATES), expected.keys()
        funnel = await ops.funnel(hours=hours)
        for stage in ("none", *STAGES):
            for state in STATES:
                want = sorted(expected.get((stage, state), []), reverse=True)
                # The funnel's stage row counts exactly the oracle's sessions.
                assert funnel["stopped"][stage][state] == len(want), (hours, stage, state)
                if stage == "none":
                    continue
                items, total = await all_pages(ops, hours=hours, stage=stage, state=state)
                # Same cohort: the list's total and its pages equal the funnel's count.
                assert total == funnel["stopped"][stage][state] == len(items)
                assert [i["session_id"] for i in items] == [s for _, s in want]
                if state == "failed":
                    # By code (issue 12, item 3): each code's list is exactly the step's
                    # failed sessions whose last failure had it, and the codes add up.
                    by_code: dict[str, list[str]] = {}
                    for item in items:
                        last = max(sessions[item["session_id"]], key=lambda e: e[1])
                        assert item["failure_code"] == last[2]["code"]
                        by_code.setdefault(item["failure_code"], []).append(item["session_id"])
                    for code, ids in by_code.items():
                        coded, coded_total = await all_pages(
                            ops, hours=hours, stage=stage, state=state, code=code
                        )
                        assert [i["session_id"] for i in coded] == ids and coded_total == len(ids)
                    assert sum(map(len, by_code.values())) == funnel["stopped"][stage][state]
                assert {i["state"] for i in items} <= {state}
        for state in STATES:
            items, total = await all_pages(ops, limit=7, hours=hours, state=state)
            want = sorted((v for (_, st), vs in expected.items() if st == state for v in vs))
            assert [i["session_id"] for i in items] == [s for _, s in reversed(want)]
            assert total == sum(funnel["stopped"][k][state] for k in funnel["stopped"])
        assert funnel["failed"] == sum(row["failed"] for row in funnel["stopped"].values())
        assert funnel["stages"]["completed"] == funnel["stopped"]["completed"]["completed"]


# The closed and refused walks' breakdown group: none (cohort._group_params).
NO_GROUP = {"by": None, "values": "[]", "inside": 1, "reached": 0}


async def test_query_plans(ops: Ops) -> None:
    await ops.send("onboarding.started", "p1", NOW - MINUTE)

    def plans(conn: sqlite3.Connection) -> dict[str, str]:
        found = {}
        base = {"before_at": None, "before_id": None, "limit": 10, "cohort_since": 0}
        for name, params in (
            ("cohort_active_page", {**base, "stage": 0, "since": 0, "until": 1}),
            ("cohort_idle_counts", {"stage": 0, "since": 0, "until": 1, "cohort_since": 0}),
            ("cohort_closed_page", {**base, **NO_GROUP, "status": "failed", "step": 2}),
            ("cohort_refused_page", {**base, **NO_GROUP}),
        ):
            rows = conn.execute("explain query plan " + QUERIES[name], params).fetchall()
            found[name] = " | ".join(str(row["detail"]) for row in rows)
        return found

    found = await ops.db.read(plans)
    assert "USING INDEX onboard_sessions_active" in found["cohort_active_page"]
    assert "USING INDEX onboard_sessions_active" in found["cohort_idle_counts"]
    assert "USING INDEX onboard_sessions_by_activity" in found["cohort_closed_page"]
    assert "USING INDEX onboard_sessions_refused" in found["cohort_refused_page"]
    for plan in found.values():
        assert "SCAN webhook_events" not in plan and "SCAN s " not in plan + " "
        # Sorted by the index (only ties of one millisecond are sorted by session id).
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan


async def test_partial_hour_reads_only_the_covering_index(ops: Ops) -> None:
    """The funnel's partial first hour (cohort_cells; the refusals and failed steps beside
    it) is summed from onboard_sessions_by_first alone: every column it reads, the refusal
    code too (a refused session counts as `refused`), is in the index, so the hour's
    session rows are never read."""
    await ops.send("onboarding.started", "p1", NOW - MINUTE)

    def plans(conn: sqlite3.Connection) -> dict[str, str]:
        params = {"since": 0, "until": 1}
        return {
            name: " | ".join(
                str(row["detail"])
                for row in conn.execute("explain query plan " + QUERIES[name], params)
            )
            for name in ("partial_hour", "partial_hour_refusals", "partial_hour_failed_steps")
        }

    for name, plan in (await ops.db.read(plans)).items():
        assert "USING COVERING INDEX onboard_sessions_by_first" in plan, (name, plan)
