"""Session states (vm122_ops/funnel/session_states.py): moving, stuck, abandoned, against an
oracle."""

from __future__ import annotations

import random
from collections import Counter

from tests.ops.conftest import HOUR, NOW, Ops
from vm122_ops.funnel import session_states as states
from vm122_ops.funnel.durations import bucket_of
from vm122_ops.funnel.rollups import percentile
from vm122_ops.funnel.session_states import StateRule
from vm122_ops.ingest.events import STAGE_TYPES, STAGES

MINUTE = 60.0
RULE = StateRule(stuck_min_minutes=15, abandon_hours=24)


async def counts(ops: Ops, rule: StateRule = RULE) -> states.StateCounts:
    return await ops.db.read(states.state_counts, int(ops.clock.now * 1000), rule)


def table(result: states.StateCounts) -> dict[str | None, tuple[int, int, int]]:
    return {
        s.stage: (s.moving, s.stuck, s.abandoned)
        for s in result.stages
        if s.moving or s.stuck or s.abandoned
    }


async def test_pace_floor_and_the_three_states(ops: Ops) -> None:
    # Ten sessions took 3, 6 ... 30 min from started to domain_validated two days ago:
    # the step's p90 is 27 min (nearest rank 9 of 10); then they stopped (abandoned).
    for index in range(10):
        start = NOW - 48 * HOUR
        await ops.send("onboarding.started", f"pace{index}", start)
        await ops.send("domain.validated", f"pace{index}", start + (index + 1) * 3 * MINUTE)
    await ops.send("onboarding.started", "moving", NOW - 20 * MINUTE)  # 20 < 27 min
    await ops.send("onboarding.started", "stuck", NOW - 40 * MINUTE)  # 40 > 27 min
    await ops.send("onboarding.started", "v", NOW - 30 * MINUTE)
    await ops.send("domain.validated", "v", NOW - 20 * MINUTE)  # no pace: 15 min floor
    await ops.send("onboarding.started", "done", NOW - 50 * MINUTE)
    await ops.send("onboarding.completed", "done", NOW - 40 * MINUTE)  # not active
    await ops.send("onboarding.failed", "gone", NOW - 40 * MINUTE)  # not active

    result = await counts(ops)
    pace = result.paces[0]
    assert pace.p90_ms is not None and abs(pace.p90_ms - 27 * 60_000) <= 27 * 60_000 * 0.005
    assert pace.stuck_after_ms == round(pace.p90_ms)
    assert [p.stuck_after_ms for p in result.paces[1:]] == [15 * 60_000] * 4
    assert table(result) == {"started": (1, 1, 0), "domain_validated": (0, 1, 10)}
    assert (result.total("moving"), result.total("stuck"), result.total("abandoned")) == (1, 2, 10)
    # A larger floor wins over the pace; a shorter abandonment takes the stuck ones.
    assert table(await counts(ops, StateRule(stuck_min_minutes=45))) == {
        "started": (2, 0, 0),
        "domain_validated": (1, 0, 10),
    }
    assert table(await counts(ops, StateRule(abandon_hours=1)))["domain_validated"] == (0, 1, 10)


async def test_states_equal_an_oracle(ops: Ops) -> None:
    ops.clock.now = NOW + 17 * MINUTE
    now = ops.clock.now
    rng = random.Random(5)
    sessions: dict[str, list[tuple[str, float]]] = {}
    for index in range(150):
        at = now - rng.choice([rng.uniform(0, 2 * HOUR), rng.uniform(0, 10 * 24 * HOUR)])
        events = [("onboarding.started", at)]
        for event_type in STAGE_TYPES[1:]:
            if rng.random() < 0.3:
                break
            at += rng.uniform(10, 3600)
            if at >= now:
                break
            events.append((event_type, at))
        if rng.random() < 0.1:
            events.append(("onboarding.failed", min(at + 1, now)))
        sessions[f"o{index}"] = events
    order = [(s, e) for s, events in sessions.items() for e in events]
    rng.shuffle(order)
    for session, (event_type, at) in order:
        assert (await ops.send(event_type, session, at)).status_code == 202

    now_ms = int(now * 1000)
    first_hour = -(-(now_ms - 7 * 24 * 3_600_000) // 3_600_000)
    paces = []
    for step in range(5):
        histogram: Counter[int] = Counter()
        for events in sessions.values():
            times = {t: round(at * 1000) for t, at in events}
            a, b = STAGE_TYPES[step], STAGE_TYPES[step + 1]
            if a in times and b in times and min(times.values()) // 3_600_000 >= first_hour:
                histogram[bucket_of(times[b] - times[a])] += 1
        p90 = percentile(histogram, 0.9)
        paces.append(max(15 * 60_000, round(p90)) if p90 is not None else 15 * 60_000)
    expected: dict[str | None, list[int]] = {}
    for events in sessions.values():
        last_type, last_at = max(events, key=lambda e: e[1])
        types = {t for t, _ in events}
        if "onboarding.completed" in types or last_type == "onboarding.failed":
            continue
        furthest = max(STAGE_TYPES.index(t) for t in types if t in STAGE_TYPES)
        idle = now_ms - round(last_at * 1000)
        if idle > 24 * 3_600_000:
            state = 2
        elif idle > paces[min(furthest, 4)]:
            state = 1
        else:
            state = 0
        expected.setdefault(STAGES[furthest], [0, 0, 0])[state] += 1
    result = await counts(ops)
    assert [p.stuck_after_ms for p in result.paces] == paces
    assert table(result) == {stage: tuple(v) for stage, v in expected.items()}


async def test_paces_from_the_funnel_cache_equal_the_sql_ones(ops: Ops) -> None:
    from vm122_ops.funnel.rollups import DurationCache, read_paces

    for index in range(20):
        start = NOW - (index + 1) * 7 * HOUR
        await ops.send("onboarding.started", f"p{index}", start)
        await ops.send("domain.validated", f"p{index}", start + (index + 1) * 100)
    now_ms = int(NOW * 1000)
    direct = await ops.db.read(states.step_paces, now_ms, RULE)
    assert direct[0].p90_ms is not None
    assert await read_paces(ops.db, DurationCache(), now_ms, RULE) == direct
    # The service's own cache: read once, then kept current by the commits that follow.
    assert ops.app is not None
    cache: DurationCache = ops.app.state.ops.durations
    assert await read_paces(ops.db, cache, now_ms, RULE) == direct
    for index in range(5):
        await ops.send("onboarding.started", f"late{index}", NOW - 20000)
        await ops.send("domain.validated", f"late{index}", NOW - 20000 + 3000 * (index + 1))
    fresh = await ops.db.read(states.step_paces, now_ms, RULE)
    assert fresh != direct
    assert await read_paces(ops.db, cache, now_ms, RULE) == fresh
