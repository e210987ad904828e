"""The kept funnel answer and drill-down pages (vm122_ops/kept/memo.py, stamped with the
basis's next boundary) with a clock that jumps both ways: backwards across boundaries and
hours, back to a millisecond answered before, forwards again. Every answer equals a
fresh computation at its own millisecond and, but for the window's bounds, at the
request's."""

from __future__ import annotations

import random

import orjson

from tests.ops.conftest import NOW, Ops
from tests.ops.test_funnel_text import (
    agrees,
    answer,
    at_ms,
    boundaries,
    drilldown,
    page_agrees,
    send_random_sessions,
)
from vm122_ops.funnel.rollups import HOUR_MS
from vm122_ops.funnel.session_states import step_paces
from vm122_ops.ingest.events import STAGES


async def test_a_clock_going_back_and_forth_gets_the_fresh_answers(ops: Ops) -> None:
    rng = random.Random(2016)
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    rule = state.settings.state_rule
    now_ms = int(NOW * 1000) + 654_321
    at_ms(ops, now_ms)
    await send_random_sessions(ops, rng, "c", now_ms)
    paces = await ops.db.read(step_paces, now_ms, rule)
    checked = 0
    for hours in (1, 5, 48):
        points = boundaries(ops, hours, now_ms, rule, paces)
        moments = [now_ms + rng.randint(-2 * HOUR_MS, 2 * HOUR_MS) for _ in range(15)]
        for point in rng.sample(points, min(len(points), 15)):
            moments += [point - 1, point, point + 1]
        rng.shuffle(moments)  # backwards and forwards, across boundaries and hours
        moments += moments[:5]  # milliseconds answered before, again
        for moment in moments:
            at_ms(ops, moment)
            await agrees(ops, await answer(ops, hours), hours, moment, rule)
            state_name = rng.choice(["moving", "stuck", "abandoned", "failed", "completed"])
            stage = rng.choice([None, *STAGES])
            listed = await drilldown(ops, hours, state_name, stage)
            await page_agrees(ops, listed, hours, moment, rule, state_name, stage)
            cursor = orjson.loads(listed)["next"]
            if cursor is not None:
                listed = await drilldown(ops, hours, state_name, stage, cursor)
                await page_agrees(ops, listed, hours, moment, rule, state_name, stage, cursor)
            checked += 1
    assert checked > 150
