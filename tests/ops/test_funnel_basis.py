"""The funnel and failures answered from memory (vm122_ops/funnel_basis.py, answers.py):
equal to a fresh computation after random events, windows and hour boundaries, and one
computation for a burst of identical requests."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.answers import Answers
from vm122_ops.events import STAGE_TYPES, STAGES
from vm122_ops.failures import failures_since
from vm122_ops.funnel import Window, compute

HAPPY = list(STAGE_TYPES)
FUNNEL = "/api/v1/onboard/funnel"
FAILURES = "/api/v1/onboard/failures"


async def fresh_funnel(ops: Ops, hours: int) -> dict[str, Any]:
    window = Window(hours, int(ops.clock.now * 1000))
    return {**(await ops.db.read(compute, window)).document(), "ok": True}


async def fresh_failures(ops: Ops, hours: int) -> dict[str, Any]:
    now_ms = int(ops.clock.now * 1000)
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
            assert await ops.funnel(hours=hours) == await fresh_funnel(ops, hours), (round_, hours)
            assert await ops.get(FAILURES, hours=hours) == await fresh_failures(ops, hours)
            before = state.funnel_answers.computations
            if int((ops.clock.now + 0.05) * 1000 / 3_600_000) == int(
                ops.clock.now * 1000 / 3_600_000
            ):
                ops.clock.now += 0.05  # the same start hour: answered from memory
            assert await ops.funnel(hours=hours) == await fresh_funnel(ops, hours), (round_, hours)
            assert await ops.get(FAILURES, hours=hours) == await fresh_failures(ops, hours)
            hits += state.funnel_answers.computations == before
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

    for answers, path in ((state.funnel_answers, FUNNEL), (state.failure_answers, FAILURES)):
        before = answers.computations
        documents = await burst(path)
        assert answers.computations == before + 1
        assert all(document == documents[0] for document in documents)
        await burst(path)  # nothing new: all answered from memory
        assert answers.computations == before + 1
        ops.clock.now += 1.5  # the same start hour a second later: still kept
        await burst(path)
        assert answers.computations == before + 1
    # A new event: the next burst reads again, once, and sees it.
    await ops.send("onboarding.started", "burst-2", ops.clock.now - 10)
    for answers, path in ((state.funnel_answers, FUNNEL), (state.failure_answers, FAILURES)):
        before = answers.computations
        documents = await burst(path)
        assert answers.computations == before + 1
    assert documents[0]["total"] == 1
    funnel = (await burst(FUNNEL))[0]
    assert funnel["cohort"] == 2
    assert funnel["stages"][STAGES[0]] == 2


async def test_a_failed_computation_is_shared_and_not_kept() -> None:
    answers: Answers[str, int] = Answers()
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("store unavailable")

    results = await asyncio.gather(
        *(answers.get("k", broken) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(result, RuntimeError) for result in results)

    async def works() -> int:
        nonlocal calls
        calls += 1
        return 7

    assert await answers.get("k", works) == 7
    assert await answers.get("k", works) == 7
    assert calls == 2
    answers.changed()
    assert await answers.get("k", works) == 7
    assert calls == 3


async def test_a_waiter_going_away_does_not_cancel_the_shared_computation() -> None:
    answers: Answers[str, int] = Answers()
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 3

    first = asyncio.ensure_future(answers.get("k", slow))
    second = asyncio.ensure_future(answers.get("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == 3
    with pytest.raises(asyncio.CancelledError):
        await first
    assert answers.computations == 1
