"""The funnel and failures answered from memory (vm122_ops/kept/funnel_basis.py, memo.py):
equal to a fresh computation after random events, windows and hour boundaries, and one
computation for a burst of identical requests."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.ops.conftest import AUTH, HOUR, NOW, Ops, iso
from tests.support.funnel_oracle import compute
from tests.support.kept import bounds_off, moment_of
from vm122_ops.funnel.failures import failures_since
from vm122_ops.funnel.rollups import ActiveSession, Window
from vm122_ops.ingest.events import STAGE_TYPES, STAGES

HAPPY = list(STAGE_TYPES)
FUNNEL = "/api/v1/onboard/funnel"
FAILURES = "/api/v1/onboard/failures"


async def fresh_funnel(ops: Ops, hours: int, at: int | None = None) -> dict[str, Any]:
    window = Window(hours, int(ops.clock.now * 1000) if at is None else at)
    return {**(await ops.db.read(compute, window)).document(), "ok": True}


async def funnel_agrees(ops: Ops, hours: int) -> bool:
    """The kept funnel is the fresh one at its own millisecond and, but for the window's
    bounds, the fresh one now (tests/support/kept.py)."""
    got = await ops.funnel(hours=hours)
    now = await fresh_funnel(ops, hours)
    return got == await fresh_funnel(ops, hours, moment_of(got)) and bounds_off(got) == bounds_off(
        now
    )


async def fresh_failures(ops: Ops, hours: int, at: int | None = None) -> dict[str, Any]:
    """The failures computed now (or ``at``) in one snapshot."""
    now_ms = int(ops.clock.now * 1000) if at is None else at
    table = await ops.db.read(failures_since, now_ms - hours * 3_600_000)
    return {**table.document(hours, now_ms), "ok": True}


async def test_kept_answers_equal_a_fresh_computation(ops: Ops) -> None:
    """Random events (new sessions, steps, failures, late earlier events) over 7 h while
    the clock moves by random steps across hour boundaries, sometimes exactly onto one;
    after each step every window is read twice (a computation, then a kept answer at a
    later millisecond of the same start hour) and equals ``compute`` at that instant."""
    rng = random.Random(16)
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    progress: dict[str, int] = {}
    sent = 0
    hits = 0
    ops.clock.now = NOW - 3 * HOUR + 0.123
    for round_ in range(40):
        for _ in range(rng.randint(0, 6)):
            session = f"s{rng.randint(0, 30)}"
            step = progress.get(session, -1) + 1
            at = ops.clock.now - rng.uniform(0, 5 * HOUR if rng.random() < 0.3 else 0.5 * HOUR)
            if step < len(HAPPY) and rng.random() < 0.85:
                event_type = HAPPY[step]
                progress[session] = step
            else:
                event_type = "onboarding.failed"
                progress[session] = -1  # a retry starts over
            extra = {"code": rng.choice(["x:1", "x:2"])} if event_type.endswith("failed") else {}
            response = await ops.send(event_type, session, at, **extra)
            assert response.status_code == 202, response.text
            sent += 1
        if rng.random() < 0.2:  # land exactly on an hour boundary
            ops.clock.now = (int(ops.clock.now // HOUR) + 1) * HOUR
        else:
            ops.clock.now += rng.choice([0.001, 0.5, rng.uniform(1, 900), rng.uniform(0, 2 * HOUR)])
        for hours in rng.sample([1, 2, 5, 24], 3):
            assert await funnel_agrees(ops, hours), (round_, hours)
            # The table at its own millisecond; but for generated_at, the one now.
            failures = await ops.get(FAILURES, hours=hours)
            assert failures == await fresh_failures(ops, hours, moment_of(failures))
            assert bounds_off(failures) == bounds_off(await fresh_failures(ops, hours))
            before = state.memo.computed["funnel basis"]
            if int((ops.clock.now + 0.05) * 1000 / 3_600_000) == int(
                ops.clock.now * 1000 / 3_600_000
            ):
                ops.clock.now += 0.05  # the same start hour: answered from memory
            assert await funnel_agrees(ops, hours), (round_, hours)
            # The table at its own millisecond; but for generated_at, the one now.
            failures = await ops.get(FAILURES, hours=hours)
            assert failures == await fresh_failures(ops, hours, moment_of(failures))
            assert bounds_off(failures) == bounds_off(await fresh_failures(ops, hours))
            hits += state.memo.computed["funnel basis"] == before
    assert sent > 60
    assert hits > 60  # most second reads were kept answers, not computations


async def test_a_burst_of_identical_requests_costs_one_computation(ops: Ops) -> None:
    state = ops.app.state.ops if ops.app is not None else None
    assert state is not None
    ops.clock.now = NOW + 600  # ten minutes past the hour: 1.5 s later is the same hour
    await ops.send("onboarding.started", "burst", NOW - 600)
    await ops.send("onboarding.failed", "burst", NOW - 500, code="carbonio:x")

    async def burst(path: str) -> list[dict[str, Any]]:
        responses = await asyncio.gather(
            *(ops.client.get(path, params={"hours": 2}, headers=AUTH) for _ in range(25))
        )
        assert [response.status_code for response in responses] == [200] * 25
        return [response.json() for response in responses]

    for kind, path in (("funnel basis", FUNNEL), ("failures", FAILURES)):
        before = state.memo.computed[kind]
        documents = await burst(path)
        assert state.memo.computed[kind] == before + 1
        assert all(document == documents[0] for document in documents)
        await burst(path)  # nothing new: all answered from memory
        assert state.memo.computed[kind] == before + 1
        ops.clock.now += 1.5  # the same start hour a second later: still kept
        await burst(path)
        assert state.memo.computed[kind] == before + 1
    # A new event: the next burst reads again, once, and sees it.
    await ops.send("onboarding.started", "burst-2", ops.clock.now - 10)
    for kind, path in (("funnel basis", FUNNEL), ("failures", FAILURES)):
        before = state.memo.computed[kind]
        documents = await burst(path)
        assert state.memo.computed[kind] == before + 1
    assert documents[0]["total"] == 1
    funnel = (await burst(FUNNEL))[0]
    assert funnel["cohort"] == 2
    assert funnel["stages"][STAGES[0]] == 2


async def test_kept_active_sessions_render_what_their_events_say(ops: Ops) -> None:
    """A kept answer renders each active session's unchanging part once and reuses it
    (vm122_ops/funnel/rollups.py, ``_session_head``); at every request each session is still what
    its events say, rendered by an independent formatter, with the state and idle time
    of that request's millisecond, also after one of them moves on."""
    ops.clock.now = NOW + 600
    sent: dict[str, tuple[str, float, float]] = {}  # session -> (last type, last at, start)
    for number in range(12):
        session = f"render-{number}"
        start = NOW - 2400 + number * 97.531  # idle from 10 to 50 minutes: moving and stuck
        await ops.send("onboarding.started", session, start, domain=f"{session}.example.pt")
        sent[session] = (STAGE_TYPES[0], start, start)
        if number % 3 == 0:
            await ops.send(STAGE_TYPES[1], session, start + 5.25, domain=f"{session}.example.pt")
            sent[session] = (STAGE_TYPES[1], start + 5.25, start)

    def expected(session: str, now: float) -> dict[str, Any]:
        last_type, last_at, start = sent[session]
        idle_ms = round(now * 1000) - round(last_at * 1000)
        return {
            "session_id": session,
            "domain": f"{session}.example.pt",
            "stage": STAGES[STAGE_TYPES.index(last_type)],
            "last_event_type": last_type,
            "last_event_at": iso(last_at),
            "started_at": iso(start),
            "state": "stuck" if idle_ms > 15 * 60_000 else "moving",
            "contact": None,  # none of these reached the account step
        }

    states = set()
    for step in (0.0, 0.001, 0.25, 61.0, 0.002):
        ops.clock.now += step
        if step == 61.0:  # a session's newest event changes its head: not reused
            await ops.send(STAGE_TYPES[0], "render-1", ops.clock.now - 1, domain="moved.example")
            sent["render-1"] = (STAGE_TYPES[0], ops.clock.now - 1, sent["render-1"][2])
        answer = await ops.funnel(hours=2)
        rendered = answer["active_sessions"]
        by_recency = sorted(sent, key=lambda s: -sent[s][1])
        assert [item["session_id"] for item in rendered] == by_recency
        for item in rendered:
            want = expected(item["session_id"], ops.clock.now)
            if item["session_id"] == "render-1" and ops.clock.now > NOW + 660:
                want["domain"] = "moved.example"
            assert item == want, (step, item)
            states.add(item["state"])
    assert states == {"moving", "stuck"}


def test_an_active_sessions_document_is_a_fresh_dict_each_time() -> None:
    session = ActiveSession("s", "example.pt", 0, STAGE_TYPES[0], 1_000, 1_000)
    first = session.at("moving", 1_500).document()
    first["domain"] = "changed.example"
    first["stage"] = None
    again = session.at("stuck", 2_000_000).document()
    assert again == {
        "session_id": "s",
        "domain": "example.pt",
        "stage": STAGES[0],
        "last_event_type": STAGE_TYPES[0],
        "last_event_at": "1970-01-01T00:00:01.000Z",
        "started_at": "1970-01-01T00:00:01.000Z",
        "state": "stuck",
        "contact": None,
    }
