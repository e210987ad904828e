"""GET /api/v1/onboard/funnel and the session timeline: figures, order independence,
the window cut."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops, iso, make_settings, running_ops
from vm122_ops.funnel.durations import bucket_of, bucket_value_ms
from vm122_ops.funnel.rollups import percentile
from vm122_ops.ingest.events import STAGE_TYPES, STAGES

HAPPY = list(STAGE_TYPES)

# (webhook-id, type, session, seconds before NOW): three sessions of the seed's scenario.
SCENARIO = [
    *[(f"c{i}", t, "complete", 600 - 60 * i) for i, t in enumerate(HAPPY)],
    ("f0", "onboarding.started", "fails", 500),
    ("f1", "domain.validated", "fails", 490),
    ("f2", "dns.applied", "fails", 470),
    ("f3", "onboarding.failed", "fails", 440),
    ("p0", "onboarding.started", "progress", 300),
    ("p1", "domain.validated", "progress", 290),
    ("s0", "onboarding.started", "skips-dns", 200),
    ("s1", "domain.validated", "skips-dns", 190),
    ("s2", "account.created", "skips-dns", 100),
]


async def send_all(ops: Ops, events: Sequence[tuple[str, str, str, float]]) -> None:
    for webhook_id, event_type, session, ago in events:
        response = await ops.send(event_type, session, NOW - ago, webhook_id=webhook_id)
        assert response.status_code == 202, response.text


async def test_funnel_figures_for_the_scenario(ops: Ops) -> None:
    await send_all(ops, SCENARIO)
    funnel = await ops.funnel()
    assert funnel["cohort"] == 4
    assert funnel["last_event_id"] == len(SCENARIO)
    # Cumulative: "skips-dns" reached account_created, so it counts in dns_applied too.
    assert funnel["stages"] == {
        "started": 4,
        "domain_validated": 4,
        "dns_applied": 3,
        "account_created": 2,
        "infra_synced": 1,
        "completed": 1,
    }
    assert list(funnel["stages"]) == list(STAGES)
    assert funnel["failed"] == 1
    # "fails" reached dns_applied and failed without naming the step: the next one failed.
    assert funnel["failed_by_step"] == {
        "started": 0,
        "domain_validated": 0,
        "dns_applied": 0,
        "account_created": 1,
        "infra_synced": 0,
        "completed": 0,
    }
    assert funnel["failed_by_furthest_stage"]["dns_applied"] == 1
    assert sum(funnel["failed_by_furthest_stage"].values()) == 1
    assert funnel["conversion"]["dns_applied"] == {"of_started": 0.75, "of_previous": 0.75}
    assert funnel["conversion"]["completed"] == {"of_started": 0.25, "of_previous": 1.0}
    # started -> domain_validated: 60 s (complete), 10 s (fails), 10 s (progress, skips).
    step = funnel["time_to_convert"]["started"]
    assert step["to"] == "domain_validated"
    assert step["sessions"] == 4
    assert step["median_seconds"] == pytest.approx(10, rel=0.01)
    assert step["p90_seconds"] == pytest.approx(60, rel=0.01)
    # dns_applied -> account_created only for "complete" (skips-dns has no dns time).
    assert funnel["time_to_convert"]["dns_applied"]["sessions"] == 1
    assert [s["session_id"] for s in funnel["active_sessions"]] == ["skips-dns", "progress"]
    first = funnel["active_sessions"][0]
    assert first == {
        "session_id": "skips-dns",
        "domain": "example.com",
        "stage": "account_created",
        "last_event_type": "account.created",
        "last_event_at": "2026-11-29T11:58:20.000Z",
        "started_at": "2026-11-29T11:56:40.000Z",
        "state": "moving",
        "contact": None,
    }


async def test_previous_window_counts_the_sessions_started_before_with_their_status_now(
    ops: Ops,
) -> None:
    """A 2 h window at 12:30 starts at 10:30; the previous one is [08:30, 10:30): its
    sessions' figures as they stand now (a late completion counts), read from the same
    rollups (whole hour 09:00-10:00) and the two partial hours around it."""
    ops.clock.now = NOW + 1800
    now = ops.clock.now
    events = [
        ("onboarding.started", "done", now - 3.5 * HOUR),  # 09:00, previous
        ("domain.validated", "done", now - 3.4 * HOUR),
        ("onboarding.completed", "done", now - 0.5 * HOUR),  # completed now, in the window
        ("onboarding.started", "broke", now - 2.6 * HOUR),  # 09:54, previous
        ("onboarding.failed", "broke", now - 2.5 * HOUR),
        ("onboarding.started", "edge", now - 4 * HOUR),  # 08:30 exactly: previous
        ("onboarding.started", "early", now - 4 * HOUR - 0.001),  # just before: neither
        ("onboarding.started", "cut", now - 2 * HOUR),  # 10:30 exactly: this window
        ("onboarding.started", "new", now - 0.2 * HOUR),
    ]
    for event_type, session, at in events:
        assert (await ops.send(event_type, session, at)).status_code == 202
    funnel = await ops.funnel(hours=2)
    assert funnel["cohort"] == 2
    assert funnel["previous"] == {
        "since": "2026-11-29T08:30:00.000Z",
        "until": "2026-11-29T10:30:00.000Z",
        "cohort": 3,
        "stages": {
            "started": 3,
            "domain_validated": 1,
            "dns_applied": 1,
            "account_created": 1,
            "infra_synced": 1,
            "completed": 1,
        },
        "failed": 1,
        "refused": 0,
        "conversion": {
            "started": {"of_started": 1.0, "of_previous": 1.0},
            "domain_validated": {"of_started": 0.3333, "of_previous": 0.3333},
            "dns_applied": {"of_started": 0.3333, "of_previous": 1.0},
            "account_created": {"of_started": 0.3333, "of_previous": 1.0},
            "infra_synced": {"of_started": 0.3333, "of_previous": 1.0},
            "completed": {"of_started": 0.3333, "of_previous": 1.0},
        },
    }
    # A 1 h window: the previous hour [10:30, 11:30) holds only "cut".
    previous = (await ops.funnel(hours=1))["previous"]
    assert (previous["cohort"], previous["failed"], previous["stages"]["completed"]) == (1, 0, 0)
    # Nothing before: zeros and null ratios, never a division by zero.
    empty = (await ops.funnel(hours=720))["previous"]
    assert empty["cohort"] == 0
    assert empty["conversion"]["completed"] == {"of_started": None, "of_previous": None}


async def test_active_sessions_carry_their_state_and_idle_time(ops: Ops) -> None:
    # The step out of `started` took 30 min for ten sessions two days ago: p90 30 min.
    for index in range(10):
        await ops.send("onboarding.started", f"pace{index}", NOW - 48 * HOUR)
        await ops.send("domain.validated", f"pace{index}", NOW - 48 * HOUR + 1800)
        await ops.send("onboarding.completed", f"pace{index}", NOW - 48 * HOUR + 1900)
    await ops.send("onboarding.started", "moving", NOW - 25 * 60)  # 25 < 30 min
    await ops.send("onboarding.started", "stuck", NOW - 35 * 60)  # 35 > 30 min
    await ops.send("onboarding.started", "v", NOW - 3 * HOUR)
    await ops.send("domain.validated", "v", NOW - 20 * 60)  # no pace: the 15 min floor
    await ops.send("onboarding.started", "gone", NOW - 30 * HOUR)  # over 24 h: abandoned
    # 48: the 7-day paces read apart (then cached); 168: the window's own durations.
    for hours in (48, 48, 168, 168):
        active = {s["session_id"]: s for s in (await ops.funnel(hours=hours))["active_sessions"]}
        assert {k: (s["state"], s["last_event_at"]) for k, s in active.items()} == {
            "moving": ("moving", iso(NOW - 1500)),
            "stuck": ("stuck", iso(NOW - 2100)),
            "v": ("stuck", iso(NOW - 1200)),
            "gone": ("abandoned", iso(NOW - 108000)),
        }, hours


async def timeline_and_funnel(ops: Ops) -> tuple[object, ...]:
    funnel = await ops.funnel()
    funnel.pop("generated_at")
    timelines = []
    for session in ("complete", "fails", "progress", "skips-dns"):
        document = await ops.get(f"/api/v1/onboard/sessions/{session}/timeline")
        timelines.append(
            (
                document["status"],
                document["stage"],
                [(e["event_type"], e["occurred_at"]) for e in document["events"]],
            )
        )
    tickets = await ops.get("/api/v1/desk/tickets")
    ticket_view = []
    for summary in sorted(tickets["tickets"], key=lambda t: t["session_id"]):
        detail = await ops.get(f"/api/v1/desk/tickets/{summary['id']}")
        ticket_view.append(
            (
                summary["session_id"],
                summary["tags"],
                [(e["kind"], e.get("event_type"), e["occurred_at"]) for e in detail["timeline"]],
            )
        )
    return funnel, timelines, ticket_view


async def test_any_arrival_order_gives_the_same_figures(tmp_path: Path) -> None:
    orders = [SCENARIO, list(reversed(SCENARIO))]
    shuffler = random.Random(4)
    for _ in range(3):
        shuffled = SCENARIO.copy()
        shuffler.shuffle(shuffled)
        orders.append(shuffled)
    results = []
    for index, order in enumerate(orders):
        folder = tmp_path / f"order{index}"
        folder.mkdir()
        async with running_ops(make_settings(folder)) as ops:
            await send_all(ops, order)
            results.append(await timeline_and_funnel(ops))
    for result in results[1:]:
        assert result == results[0]
    _, timelines, tickets = results[0]
    assert timelines[1][0] == "failed"  # type: ignore[index]
    assert [t[0] for t in tickets] == ["complete", "fails", "skips-dns"]  # type: ignore[attr-defined]


async def test_failed_then_retried_is_active_again(ops: Ops) -> None:
    await ops.send("onboarding.started", "s", NOW - 100)
    await ops.send("onboarding.failed", "s", NOW - 90, stage="account_created")
    assert (await ops.funnel())["failed"] == 1
    await ops.send("domain.validated", "s", NOW - 80)
    funnel = await ops.funnel()
    assert funnel["failed"] == 0
    assert [a["session_id"] for a in funnel["active_sessions"]] == ["s"]
    # A late failure that happened before the retry does not flip it back.
    await ops.send("onboarding.failed", "s", NOW - 95, stage="dns_applied")
    assert (await ops.funnel())["failed"] == 0


async def test_window_cut_is_exact_to_the_millisecond(ops: Ops) -> None:
    inside = NOW - 48 * HOUR + 0.001
    outside = NOW - 48 * HOUR - 0.001
    await ops.send("onboarding.started", "inside", inside)
    await ops.send("onboarding.started", "outside", outside)
    # An event of "outside" inside the window does not pull it in: its first event counts.
    await ops.send("domain.validated", "outside", NOW - 60)
    await ops.send("onboarding.started", "recent", NOW - 2 * HOUR)
    await ops.send("onboarding.started", "old-hour", NOW - 30 * HOUR)
    funnel = await ops.funnel()
    assert funnel["cohort"] == 3
    assert funnel["stages"]["started"] == 3
    assert funnel["stages"]["domain_validated"] == 0
    assert {a["session_id"] for a in funnel["active_sessions"]} == {"inside", "recent", "old-hour"}
    narrow = await ops.funnel(hours=3)
    assert narrow["cohort"] == 1
    assert narrow["window_hours"] == 3
    wide = await ops.funnel(hours=720)
    assert wide["cohort"] == 4
    assert wide["stages"]["domain_validated"] == 1


async def test_a_late_earlier_event_moves_a_session_into_an_older_hour(ops: Ops) -> None:
    await ops.send("domain.validated", "late", NOW - 60)
    assert (await ops.funnel(hours=1))["cohort"] == 1
    await ops.send("onboarding.started", "late", NOW - 5 * HOUR)
    assert (await ops.funnel(hours=1))["cohort"] == 0
    six = await ops.funnel(hours=6)
    assert six["cohort"] == 1
    assert six["stages"]["domain_validated"] == 1
    assert six["time_to_convert"]["started"]["median_seconds"] == pytest.approx(
        5 * HOUR - 60, rel=0.01
    )


@pytest.mark.parametrize("hours", ["0", "721", "-1", "abc", "1.5", ""])
async def test_bad_window_is_400(ops: Ops, hours: str) -> None:
    response = await ops.client.get("/api/v1/onboard/funnel", params={"hours": hours}, headers=AUTH)
    assert response.status_code == 400
    assert "hours must be" in response.json()["error"]


async def test_active_sessions_are_capped_at_50_most_recent_first(ops: Ops) -> None:
    for i in range(55):
        await ops.send("onboarding.started", f"s{i:02d}", NOW - 1000 + i)
    await ops.send("onboarding.completed", "s54", NOW - 10)
    active = (await ops.funnel())["active_sessions"]
    assert len(active) == 50
    assert active[0]["session_id"] == "s53"
    assert active[-1]["session_id"] == "s04"


async def test_empty_funnel(ops: Ops) -> None:
    funnel = await ops.funnel()
    assert funnel["cohort"] == 0
    assert set(funnel["stages"].values()) == {0}
    assert funnel["conversion"]["started"] == {"of_started": None, "of_previous": None}
    assert funnel["time_to_convert"]["started"]["median_seconds"] is None
    assert funnel["active_sessions"] == []


async def test_timeline_orders_by_event_time_then_arrival(ops: Ops) -> None:
    await ops.send("domain.validated", "t", NOW - 50, webhook_id="second")
    await ops.send("onboarding.started", "t", NOW - 100, webhook_id="first")
    await ops.send("dns.applied", "t", NOW - 50, webhook_id="third", records=3)
    timeline = await ops.get("/api/v1/onboard/sessions/t/timeline")
    assert [(e["id"], e["event_type"]) for e in timeline["events"]] == [
        (2, "onboarding.started"),
        (1, "domain.validated"),
        (3, "dns.applied"),
    ]
    assert timeline["events"][2]["data"] == {
        "session_id": "t",
        "domain": "example.com",
        "records": 3,
    }
    assert timeline["status"] == "active"
    assert timeline["stage"] == "dns_applied"
    assert timeline["ticket_id"] is None


async def test_timeline_names_the_sessions_ticket(ops: Ops) -> None:
    await ops.send("onboarding.started", "other", NOW - 300)
    await ops.send("onboarding.failed", "other", NOW - 250)
    await ops.send("onboarding.started", "t", NOW - 200)
    await ops.send("onboarding.failed", "t", NOW - 100)
    tickets = await ops.get("/api/v1/desk/tickets", session_id="t")
    timeline = await ops.get("/api/v1/onboard/sessions/t/timeline")
    assert timeline["ticket_id"] == tickets["tickets"][0]["id"] == 2


async def test_timeline_of_an_unknown_session_is_404(ops: Ops) -> None:
    response = await ops.client.get("/api/v1/onboard/sessions/nobody/timeline", headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": "no session nobody", "status": 404}
    bad = await ops.client.get("/api/v1/onboard/sessions/a%20b/timeline", headers=AUTH)
    assert bad.status_code == 400


def test_histogram_percentiles_are_within_half_a_percent() -> None:
    values = [i * 137 for i in range(1, 400)]
    histogram: dict[int, int] = {}
    for value in values:
        histogram[bucket_of(value)] = histogram.get(bucket_of(value), 0) + 1
    exact_median = sorted(values)[len(values) // 2 - 1 + len(values) % 2]
    median = percentile(histogram, 0.5)
    assert median == pytest.approx(exact_median, rel=0.005)
    for value in (0, 1, 99, 100, 101, 10_000, 86_400_000):
        assert bucket_value_ms(bucket_of(value)) == pytest.approx(value, rel=0.006, abs=0.5)


async def test_cached_durations_stay_equal_to_a_fresh_computation(ops: Ops) -> None:
    from tests.support.funnel_oracle import compute
    from vm122_ops.funnel.rollups import Window

    async def fresh(hours: int) -> dict[str, object]:
        return (await ops.db.read(compute, Window(hours, int(NOW * 1000)))).document()

    await send_all(ops, SCENARIO[:8])
    for hours in (1, 48):
        assert await ops.funnel(hours=hours) == {**await fresh(hours), "ok": True}
    # Later events change cached windows: new steps, and a late earlier event that moves a
    # session into an older hour (its durations leave one window's cells for another).
    await send_all(ops, SCENARIO[8:])
    await ops.send("onboarding.started", "moved", NOW - 30)
    await ops.send("domain.validated", "moved", NOW - 20)
    await ops.funnel(hours=1)
    await ops.send("onboarding.started", "moved", NOW - 3 * HOUR)
    for hours in (1, 48, 720):
        cached = await ops.funnel(hours=hours)
        assert cached == {**await fresh(hours), "ok": True}
    assert (await ops.funnel(hours=1))["time_to_convert"]["started"]["sessions"] == 4


async def test_funnel_equals_a_brute_force_oracle_off_the_hour(ops: Ops) -> None:
    """Random sessions over 60 h, the clock 37 min past the hour so every window has a
    partial first hour: stages, failures and step percentiles equal a direct computation
    from the sent events (percentiles through the same buckets)."""
    from vm122_ops.funnel.durations import bucket_of, bucket_value_ms

    ops.clock.now = NOW + 37 * 60 + 0.25
    now = ops.clock.now
    rng = random.Random(7)
    sessions: dict[str, list[tuple[str, float]]] = {}
    named_step: dict[str, str | None] = {}  # the failure's own stage field, if sent
    for index in range(120):
        start = now - rng.uniform(0, 60 * HOUR)
        events = [("onboarding.started", start)]
        at = start
        for event_type in HAPPY[1:]:
            if rng.random() < 0.2:
                break
            at += rng.choice([0.004, 0.35, rng.uniform(1, 900)])
            events.append((event_type, at))
        if rng.random() < 0.15:
            events.append(("onboarding.failed", at + 1))
            named_step[f"r{index}"] = rng.choice([None, *STAGES[1:5]])
        sessions[f"r{index}"] = events
    for session, events in sessions.items():
        for event_type, at in events:
            extra = {}
            if event_type == "onboarding.failed" and named_step[session] is not None:
                extra["stage"] = named_step[session]
            assert (await ops.send(event_type, session, at, **extra)).status_code == 202

    for hours in (1, 5, 48):
        since = now - hours * HOUR
        cohort = {s: e for s, e in sessions.items() if min(at for _, at in e) >= since}
        funnel = await ops.funnel(hours=hours)
        assert funnel["cohort"] == len(cohort)
        for index, stage in enumerate(STAGES):
            reached = sum(
                1
                for e in cohort.values()
                if any(HAPPY.index(t) >= index for t, _ in e if t in HAPPY)
            )
            assert funnel["stages"][stage] == reached, (hours, stage)
        failed = sum(
            1
            for e in cohort.values()
            if max(e, key=lambda x: x[1])[0] == "onboarding.failed"
            and "onboarding.completed" not in dict(e)
        )
        assert funnel["failed"] == failed
        by_step = dict.fromkeys(STAGES, 0)
        for session, e in cohort.items():
            last = max(e, key=lambda x: x[1])[0]
            if last != "onboarding.failed" or "onboarding.completed" in dict(e):
                continue
            furthest = max(HAPPY.index(t) for t, _ in e if t in HAPPY)
            by_step[named_step[session] or STAGES[min(furthest + 1, 5)]] += 1
        assert funnel["failed_by_step"] == by_step, hours
        for step in range(5):
            durations = sorted(
                bucket_of(
                    round(dict(e)[HAPPY[step + 1]] * 1000) - round(dict(e)[HAPPY[step]] * 1000)
                )
                for e in cohort.values()
                if HAPPY[step] in dict(e) and HAPPY[step + 1] in dict(e)
            )
            entry = funnel["time_to_convert"][STAGES[step]]
            assert entry["sessions"] == len(durations)
            if durations:
                median = durations[max(1, -(-len(durations) // 2)) - 1]
                assert entry["median_seconds"] == round(bucket_value_ms(median) / 1000, 3)
        # The previous window of the same length: the sessions first seen in
        # [now - 2N h, now - N h), with their status now.
        before = {s: e for s, e in sessions.items() if since - hours * HOUR <= e[0][1] < since}
        previous = funnel["previous"]
        assert previous["since"] == iso(since - hours * HOUR)
        assert previous["until"] == iso(since)
        assert previous["cohort"] == len(before), hours
        for index, stage in enumerate(STAGES):
            reached = sum(
                1
                for e in before.values()
                if any(HAPPY.index(t) >= index for t, _ in e if t in HAPPY)
            )
            assert previous["stages"][stage] == reached, (hours, stage)
        assert previous["failed"] == sum(
            1
            for e in before.values()
            if e[-1][0] == "onboarding.failed" and "onboarding.completed" not in dict(e)
        )
        completed = previous["stages"]["completed"]
        assert previous["conversion"]["completed"]["of_started"] == (
            round(completed / len(before), 4) if before else None
        )


async def test_a_commit_already_in_a_cached_read_is_not_applied_twice(ops: Ops) -> None:
    """A read may begin after a commit but before that commit's after-commit hook runs."""
    from tests.support.funnel_oracle import read_funnel
    from vm122_ops.funnel.rollups import DurationCache, Window
    from vm122_ops.ingest.events import parse_event
    from vm122_ops.ingest.storing import store_event

    await ops.send("onboarding.started", "late-hook", NOW - 60)
    body = ops.body("domain.validated", "late-hook", NOW - 30)
    event = parse_event("late-hook-2", body)
    stored = await ops.db.write(lambda conn: store_event(conn, event, int(NOW * 1000)))
    cache = DurationCache()
    window = Window(1, int(NOW * 1000))
    first = (await read_funnel(ops.db, window, cache)).document()
    cache.apply(stored.id, stored.durations)  # the hook, running late
    again = (await read_funnel(ops.db, window, cache)).document()
    assert first["time_to_convert"]["started"]["sessions"] == 1
    assert again["time_to_convert"]["started"]["sessions"] == 1


def test_a_commit_applied_while_a_window_loads_is_replayed_into_it() -> None:
    """read_funnel reads a new window's cells on a reader thread (snapshot as of row 10);
    a commit whose hook runs before the cells reach the cache must still be counted,
    once, and one the snapshot already had must not be counted again."""
    from collections import Counter

    from vm122_ops.funnel.rollups import DurationCache

    def empty() -> dict[int, Counter[int]]:
        return {step: Counter() for step in range(5)}

    hour = 500_000
    cache = DurationCache()
    cache.apply(11, [(hour, 0, 140, 1), (hour - 1, 1, 150, 1)])  # the hook, before put
    cache.put(hour, empty(), as_of=10)
    got = cache.get(hour)
    assert got is not None and got[0][140] == 1 and got[1][150] == 0  # hour - 1: not in it
    cache.apply(11, [(hour, 0, 140, 1)])  # the same commit again: already in
    cache.apply(12, [(hour, 0, 140, 1)])
    got = cache.get(hour)
    assert got is not None and got[0][140] == 2

    # A snapshot that already held row 11 is not given it twice.
    other = DurationCache()
    other.apply(11, [(hour, 0, 140, 1)])
    seen = empty()
    seen[0][140] = 1
    other.put(hour, seen, as_of=11)
    got = other.get(hour)
    assert got is not None and got[0][140] == 1

    # When the log no longer reaches back to the snapshot, the window is not cached.
    short = DurationCache(log_size=2)
    for row in (11, 12, 13):
        short.apply(row, [(hour, 0, 140, 1)])
    short.put(hour, empty(), as_of=10)
    assert short.get(hour) is None
    short.put(hour, empty(), as_of=11)
    got = short.get(hour)
    assert got is not None and got[0][140] == 2  # rows 12 and 13
