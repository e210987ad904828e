"""The funnel's answer kept as bytes between boundaries (``answer_funnel_text``, the memo
stamped with ``FunnelBasis.holds_until``): byte for byte the answer of a fresh
``funnel.compute`` at its own millisecond (``generated_at``), and in everything but the
window's bounds the fresh answer at moments just before, at and after each kind of
boundary, after random events; computed once per boundary, not once per request. The
drill-down's pages, kept until the same boundaries, checked alike against a fresh
``cohort.page``."""

from __future__ import annotations

import random
from typing import Any

import orjson

from tests.ops.conftest import AUTH, NOW, Ops
from tests.support import peek
from tests.support.funnel_oracle import compute
from tests.support.kept import bounds_off, moment_of
from vm122_ops.funnel import cohort
from vm122_ops.funnel.rollups import HOUR_MS, Window
from vm122_ops.funnel.session_states import StateRule, step_paces, waiting_step
from vm122_ops.ingest.events import STAGE_TYPES, STAGES
from vm122_ops.kept.funnel_basis import FunnelBasis
from vm122_ops.kept.memo import Memo

FUNNEL = "/api/v1/onboard/funnel"
SESSIONS = "/api/v1/onboard/funnel/sessions"
WINDOWS = (1, 2, 5, 24, 48)  # abandonment (24 h) shows in windows longer than it
SWEEP_MS = 90 * 60_000  # how far past the events each round's requests go


def at_ms(ops: Ops, ms: int) -> None:
    """Set the clock so that Ops reads exactly ``ms`` (``int(clock() * 1000)``)."""
    ops.clock.now = (ms + 0.5) / 1000


async def answer(ops: Ops, hours: int) -> bytes:
    response = await ops.client.get(FUNNEL, params={"hours": hours}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.content


async def fresh(ops: Ops, hours: int, now_ms: int, rule: StateRule) -> bytes:
    """What the route answered before answers were kept: ``ok`` around a fresh compute."""
    funnel = await ops.db.read(compute, Window(hours, now_ms), rule)
    return orjson.dumps({"ok": True, **funnel.document()})


def computed_at(body: bytes) -> int:
    """An answer's ``generated_at`` in Unix milliseconds."""
    return moment_of(orjson.loads(body))


def without_bounds(body: bytes) -> dict[str, Any]:
    """An answer without its window's bounds (tests/support/kept.py)."""
    return bounds_off(orjson.loads(body))


async def agrees(ops: Ops, got: bytes, hours: int, moment: int, rule: StateRule) -> None:
    """``got``, answered at ``moment``, is the fresh answer at its own millisecond and,
    in all but the window's bounds, the fresh answer at ``moment``."""
    assert got == await fresh(ops, hours, computed_at(got), rule), (hours, moment)
    now = await fresh(ops, hours, moment, rule)
    assert without_bounds(got) == without_bounds(now), (hours, moment)


async def drilldown(
    ops: Ops, hours: int, state: str, stage: str | None, cursor: str | None = None
) -> bytes:
    params: dict[str, Any] = {"hours": hours, "state": state, "limit": 5}
    if stage is not None:
        params["stage"] = stage
    if cursor is not None:
        params["cursor"] = cursor
    response = await ops.client.get(SESSIONS, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.content


async def fresh_drilldown(
    ops: Ops,
    hours: int,
    now_ms: int,
    rule: StateRule,
    state: Any,
    stage: str | None,
    cursor: str | None = None,
) -> bytes:
    """``cohort.page`` in one snapshot: the drill-down as computed before it was kept."""
    window = cohort.CohortWindow(since_ms=now_ms - hours * HOUR_MS, now_ms=now_ms)
    filters = cohort.CohortFilter(state=state, stage=stage)
    before = None if cursor is None else cohort.decode_cursor(cursor)
    page = await ops.db.read(cohort.page, window, rule, filters, 5, before)
    return orjson.dumps({"ok": True, **page.document(hours)})


async def page_agrees(
    ops: Ops,
    listed: bytes,
    hours: int,
    moment: int,
    rule: StateRule,
    state: Any,
    stage: str | None,
    cursor: str | None = None,
) -> None:
    """``agrees`` for a drill-down page."""
    at = computed_at(listed)
    assert listed == await fresh_drilldown(ops, hours, at, rule, state, stage, cursor)
    now = await fresh_drilldown(ops, hours, moment, rule, state, stage, cursor)
    assert without_bounds(listed) == without_bounds(now), (hours, moment, state, stage)


async def send_random_sessions(ops: Ops, rng: random.Random, prefix: str, now_ms: int) -> None:
    """~100 sessions, most of them active with their last event in the last 24 h (more
    than the 50 shown, so the ``stopped`` counts count sessions the list leaves out),
    first seen up to 50 h ago, each a few steps at random paces (some slower than 15
    minutes, so the paces are not all the minimum), some failed at the end, the last
    events of many near a state's boundary."""
    for number in range(rng.randint(90, 110)):
        session = f"{prefix}-{number}"
        last = now_ms - rng.choice(
            [
                rng.randint(0, 50 * HOUR_MS),
                rng.randint(0, 24 * HOUR_MS),
                rng.randint(10 * 60_000, 60 * 60_000),  # around moving -> stuck
                rng.randint(23 * HOUR_MS, 24 * HOUR_MS + 60_000),  # around -> abandoned
            ]
        )
        steps = rng.randint(1, len(STAGE_TYPES) - 1)
        gaps = [
            rng.choice([rng.randint(1, 600_000), rng.randint(0, 2 * HOUR_MS)]) for _ in range(steps)
        ]
        moment = last - sum(gaps[1:])
        for step in range(steps):
            moment += gaps[step] if step else 0
            if step == steps - 1 and rng.random() < 0.1:
                response = await ops.send("onboarding.failed", session, moment / 1000, code="x:1")
            else:
                response = await ops.send(STAGE_TYPES[step], session, moment / 1000)
            assert response.status_code == 202, response.text


def boundaries(ops: Ops, hours: int, now_ms: int, rule: StateRule, paces: Any) -> list[int]:
    """Every moment in (now, now + SWEEP_MS] at which the funnel of ``hours`` changes in more
    than its per-millisecond figures, by an independent reading of the rule (states.py):
    a session turns stuck once idle > its step's pace and abandoned once idle > 24 h; the
    window's start (now - hours) passes an hour or a session's first event; the previous
    window's start (now - 2 x hours) passes a session's first event."""
    span = hours * HOUR_MS
    found: set[int] = set()
    rows = peek.rows(
        ops.db_path,
        "select first_event_at, last_event_at, furthest_stage, status from onboard_sessions",
    )
    for first, last, stage, status in rows:
        found.update((first + span + 1, first + 2 * span + 1))
        if status == "active":
            stuck_after = paces[waiting_step(stage)].stuck_after_ms
            found.update((last + stuck_after + 1, last + rule.abandon_ms + 1))
    hour = now_ms // HOUR_MS + 1
    found.update((hour * HOUR_MS + 1, (hour + 1) * HOUR_MS + 1))
    return sorted(moment for moment in found if now_ms < moment <= now_ms + SWEEP_MS)


async def test_kept_text_equals_a_fresh_computation_at_every_boundary(ops: Ops) -> None:
    """Per round: random sessions, then for each window a sweep of the clock forward
    through moments 1 ms before, at and 1 ms after sampled boundaries of each kind (and a
    few random moments); each answer equals a fresh computation byte for byte. Boundaries
    that fall between two requests are crossed without a request at them, as they are in
    production: the kept text must have ended there too."""
    rng = random.Random(1616)
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    rule = state.settings.state_rule
    now_ms = int(NOW * 1000) + 123_457
    requests = 0
    for round_ in range(2):
        at_ms(ops, now_ms)
        await send_random_sessions(ops, rng, f"r{round_}", now_ms)
        paces = await ops.db.read(step_paces, now_ms, rule)
        assert any(pace.stuck_after_ms > rule.stuck_min_ms for pace in paces)
        for hours in WINDOWS:
            lists: list[tuple[str, str | None]] = []
            points = boundaries(ops, hours, now_ms, rule, paces)
            chosen = sorted(rng.sample(points, min(len(points), 25)))
            moments = {now_ms} | {now_ms + rng.randint(1, SWEEP_MS) for _ in range(5)}
            for point in chosen:
                moments.update((point - 1, point, point + 1))
            for moment in sorted(moments):
                at_ms(ops, moment)
                got = await answer(ops, hours)
                await agrees(ops, got, hours, moment, rule)
                # The drill-down's pages and total (the stopped counts), kept until the
                # same boundaries: the first page of a list and, when there is one, the
                # second, sometimes of a list asked before (kept), sometimes a new one.
                if not lists or rng.random() < 0.3:
                    lists.append(
                        (
                            rng.choice(["moving", "stuck", "abandoned", "failed", "completed"]),
                            rng.choice([None, *STAGES]),
                        )
                    )
                state_name, stage = rng.choice(lists)
                cursor = None
                for _ in range(2):
                    listed = await drilldown(ops, hours, state_name, stage, cursor)
                    await page_agrees(ops, listed, hours, moment, rule, state_name, stage, cursor)
                    cursor = orjson.loads(listed)["next"]
                    if cursor is None:
                        break
                requests += 1
        now_ms += SWEEP_MS + rng.randint(0, HOUR_MS)
    assert requests > 400


async def test_a_kept_text_is_rendered_once_per_boundary(ops: Ops) -> None:
    """Requests at every millisecond between two boundaries are one computation: the
    same bytes, the fresh answer at the first request's millisecond (its generated_at)."""
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    rule = state.settings.state_rule
    start = int(NOW * 1000) + 10 * 60_000
    at_ms(ops, start)
    await ops.send(STAGE_TYPES[0], "once", (start - 60_000) / 1000)
    await ops.send(STAGE_TYPES[1], "once", (start - 1_000) / 1000)
    bodies = []
    before = memo(ops).computed["funnel"]
    for offset in range(0, 40, 3):  # 1 ms apart and more: nothing crosses a boundary
        at_ms(ops, start + offset)
        bodies.append(await answer(ops, 2))
        await agrees(ops, bodies[-1], 2, start + offset, rule)
    assert len(set(bodies)) == 1  # one answer, computed at the first request
    assert computed_at(bodies[0]) == start
    await kept_basis(ops, 2, start)
    assert memo(ops).computed["funnel"] == before + 1
    # Fifteen minutes of idleness later the session is stuck: a new render, at once.
    stuck_at = start - 1_000 + rule.stuck_min_ms + 1
    for moment, state_name in ((stuck_at - 1, "moving"), (stuck_at, "stuck")):
        at_ms(ops, moment)
        document = orjson.loads(await answer(ops, 2))
        assert document["active_sessions"][0]["state"] == state_name
        assert document["stopped"]["domain_validated"]["stuck"] == (state_name == "stuck")
    assert memo(ops).computed["funnel"] == before + 2
    # A clock set back before the text's first millisecond: not answered from it.
    at_ms(ops, stuck_at - 1)
    assert await answer(ops, 2) == await fresh(ops, 2, stuck_at - 1, rule)
    assert orjson.loads(await answer(ops, 2))["active_sessions"][0]["state"] == "moving"


def memo(ops: Ops) -> Memo:
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    found: Memo = state.memo
    return found


async def kept_basis(ops: Ops, hours: int, now_ms: int) -> FunnelBasis:
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    window = Window(hours, now_ms)
    before = state.memo.computations

    async def never() -> FunnelBasis:
        raise AssertionError("the basis is kept")

    key = ("funnel basis", hours, window.first_whole_hour)
    basis: FunnelBasis = await state.memo.get(key, ops.db.data_version(), never, FunnelBasis.size)
    assert state.memo.computations == before
    return basis


async def test_an_event_ends_the_kept_text(ops: Ops) -> None:
    """A new event is a new basis, so the text kept for the old one is never used."""
    rule = StateRule()
    start = int(NOW * 1000) + 20 * 60_000
    at_ms(ops, start)
    await ops.send(STAGE_TYPES[0], "ends", (start - 5_000) / 1000)
    first = orjson.loads(await answer(ops, 1))
    assert first["cohort"] == 1
    await ops.send(STAGE_TYPES[0], "ends-2", (start - 4_000) / 1000)
    at_ms(ops, start + 1)
    second = await answer(ops, 1)
    assert second == await fresh(ops, 1, start + 1, rule)  # computed anew: its moment
    assert orjson.loads(second)["cohort"] == 2
