"""Conversion over time (vm122_ops/funnel/trend.py, GET /api/v1/onboard/trend): an oracle over
random sessions for hourly and daily ranges, the open periods, bad input."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops, make_settings, running_ops
from vm122_ops.ingest.events import format_ms

TREND = "/api/v1/onboard/trend"
TREND_CSV = "/api/v1/onboard/trend.csv"
H = 3_600_000


async def test_exact_hours_and_open_periods(ops: Ops) -> None:
    ops.clock.now = NOW + 30 * 60  # 12:30
    await ops.send("onboarding.started", "a", NOW - 2 * HOUR + 60)  # 10:01
    await ops.send("onboarding.completed", "a", NOW - HOUR)
    await ops.send("onboarding.started", "b", NOW - 2 * HOUR + 120)  # 10:02
    await ops.send("onboarding.failed", "b", NOW - 2 * HOUR + 180)
    await ops.send("onboarding.started", "c", NOW + 60)  # 12:01, active
    found = await ops.get(TREND, hours=3)
    assert found["period"] == "hour" and found["window_hours"] == 3
    assert found["periods"] == [
        {
            "start": "2026-11-29T10:00:00.000Z",
            "entered": 2,
            "completed": 1,
            "failed": 1,
            "refused": 0,
            "conversion": 0.5,
            "open": True,
        },
        {
            "start": "2026-11-29T11:00:00.000Z",
            "entered": 0,
            "completed": 0,
            "failed": 0,
            "refused": 0,
            "conversion": None,
            "open": True,
        },
        {
            "start": "2026-11-29T12:00:00.000Z",
            "entered": 1,
            "completed": 0,
            "failed": 0,
            "refused": 0,
            "conversion": 0.0,
            "open": True,
        },
    ]
    days = await ops.get(TREND, hours=73)
    assert days["period"] == "day" and len(days["periods"]) == 4
    assert days["periods"][-1]["start"] == "2026-11-29T00:00:00.000Z"
    assert [p["open"] for p in days["periods"]] == [False, False, True, True]
    assert days["periods"][-1]["entered"] == 3


@pytest.mark.parametrize("seed", [2, 9])
async def test_the_series_equals_an_oracle(ops: Ops, seed: int) -> None:
    ops.clock.now = NOW + 17 * 60 + 5
    now_ms = int(ops.clock.now * 1000)
    rng = random.Random(seed)
    sessions = {}
    order = []
    for index in range(140):
        first = ops.clock.now - rng.choice(
            [rng.uniform(0, 80 * HOUR), rng.uniform(0, 89 * 24 * HOUR)]
        )
        outcome = rng.choice(["active", "completed", "failed", "refused"])
        refusal: dict[str, Any] = {}
        if outcome == "refused":  # a refused attempt: entered, not in the conversion
            refusal = {"domain": "(rejected)", "refusal": {"code": "mailbox_provider"}}
        events: list[tuple[str, float, dict[str, Any]]] = [("onboarding.started", first, refusal)]
        if outcome in ("completed", "failed"):
            at = min(first + rng.uniform(1, 7200), ops.clock.now)
            events.append((f"onboarding.{outcome}", at, {}))
        sessions[f"t{index}"] = (round(first * 1000), outcome)
        order += [(f"t{index}", event) for event in events]
    rng.shuffle(order)
    for session, (event_type, at, data) in order:
        assert (await ops.send(event_type, session, at, **data)).status_code == 202
    for hours in (1, 5, 72, 73, 500, 2160):
        size = 1 if hours <= 72 else 24
        count = hours if size == 1 else -(-hours // 24)
        first_hour = (now_ms // H // size - count + 1) * size
        want: list[dict[str, Any]] = []
        for index in range(count):
            start = (first_hour + index * size) * H
            end = start + size * H
            inside = [o for f, o in sessions.values() if start <= f < end]
            done = inside.count("completed")
            attempts = len(inside) - inside.count("refused")
            want.append(
                {
                    "start": format_ms(start),
                    "entered": len(inside),
                    "completed": done,
                    "failed": inside.count("failed"),
                    "refused": inside.count("refused"),
                    "conversion": round(done / attempts, 4) if attempts else None,
                    "open": end > now_ms - 24 * H,
                }
            )
        found = await ops.get(TREND, hours=hours)
        assert found["periods"] == want, hours
        if hours == 2160:
            assert sum(p["entered"] for p in want) == 140 and len(want) == 90


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"hours": "0"}, "hours must be"),
        ({"hours": "2161"}, "hours must be"),
        ({"hours": "1.5"}, "hours must be"),
        ({"hours": "-3"}, "hours must be"),
        ({"hours": "24", "period": "day"}, "unknown query parameter: period"),
    ],
)
async def test_bad_input_is_a_400(ops: Ops, params: dict[str, str], reason: str) -> None:
    response = await ops.client.get(TREND, params=params, headers=AUTH)
    assert response.status_code == 400 and reason in str(response.json()["error"])


async def _body(ops: Ops, path: str, hours: int) -> bytes:
    response = await ops.client.get(path, params={"hours": hours}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.content


async def test_the_answer_is_kept_as_bytes_until_a_commit_or_the_next_hour(ops: Ops) -> None:
    """Two requests at different milliseconds of one hour and one database stamp get the
    same JSON and CSV bytes from one computation, ``generated_at`` the first one's
    millisecond; a new session, then an hour passing, each give a new answer."""
    memo = ops.app.state.ops.memo  # type: ignore[union-attr]
    ops.clock.now = NOW + 30 * 60 + 0.25  # 12:30:00.250
    await ops.send("onboarding.started", "a", NOW - 2 * HOUR + 60)  # 10:01
    await ops.send("onboarding.completed", "a", NOW - HOUR)
    first = await _body(ops, TREND, 3)
    first_csv = await _body(ops, TREND_CSV, 3)
    assert memo.computed["trend"] == 1  # the counts, read once for both
    computations = memo.computations
    ops.clock.now += 10 * 60 + 0.5  # 12:40:00.750: the same hour, the same database
    assert await _body(ops, TREND, 3) == first
    assert await _body(ops, TREND_CSV, 3) == first_csv
    assert memo.computations == computations
    document = json.loads(first)
    assert document["generated_at"] == "2026-11-29T12:30:00.250Z"
    assert [(p["start"][11:16], p["entered"], p["completed"]) for p in document["periods"]] == [
        ("10:00", 1, 1),
        ("11:00", 0, 0),
        ("12:00", 0, 0),
    ]
    assert first_csv.decode().splitlines() == [
        "start,entered,completed,failed,conversion,open,refused",
        "2026-11-29T10:00:00.000Z,1,1,0,1.0,true,0",
        "2026-11-29T11:00:00.000Z,0,0,0,,true,0",
        "2026-11-29T12:00:00.000Z,0,0,0,,true,0",
    ]

    await ops.send("onboarding.started", "b", NOW + 60)  # 12:01
    committed = json.loads(await _body(ops, TREND, 3))
    assert memo.computed["trend"] == 2
    assert committed["generated_at"] == "2026-11-29T12:40:00.750Z"
    assert [p["entered"] for p in committed["periods"]] == [1, 0, 1]
    csv_rows = (await _body(ops, TREND_CSV, 3)).decode().splitlines()
    assert csv_rows[-1] == "2026-11-29T12:00:00.000Z,1,0,0,0.0,true,0"
    assert memo.computed["trend"] == 2

    ops.clock.now = NOW + HOUR + 0.001  # 13:00:00.001: the periods move by an hour
    later = json.loads(await _body(ops, TREND, 3))
    assert memo.computed["trend"] == 3
    assert later["generated_at"] == "2026-11-29T13:00:00.001Z"
    assert [(p["start"][11:16], p["entered"]) for p in later["periods"]] == [
        ("11:00", 0),
        ("12:00", 1),
        ("13:00", 0),
    ]


async def test_a_period_closing_gives_a_new_answer(tmp_path: Path) -> None:
    """A day's sessions may convert until OPS_ABANDON_HOURS after its end: the daily
    trend's JSON and CSV are kept until then, and the next answer marks the day closed."""
    settings = make_settings(tmp_path)
    async with running_ops(replace(settings, abandon_hours=6)) as ops:
        memo = ops.app.state.ops.memo  # type: ignore[union-attr]
        ops.clock.now = NOW - 6 * HOUR - 60  # 2026-11-29 05:59: the 28th ends 6 h before 06:00
        await ops.send("onboarding.started", "a", NOW - 16 * HOUR)  # the 28th, 20:00
        await ops.send("onboarding.completed", "a", NOW - 15 * HOUR)
        first = await _body(ops, TREND, 73)
        first_csv = await _body(ops, TREND_CSV, 73)
        computations = memo.computations
        ops.clock.now += 59.999  # 05:59:59.999: the 28th still open
        assert await _body(ops, TREND, 73) == first
        assert await _body(ops, TREND_CSV, 73) == first_csv
        assert memo.computations == computations
        assert [p["open"] for p in json.loads(first)["periods"]] == [False, False, True, True]
        ops.clock.now = NOW - 6 * HOUR + 0.001  # 06:00:00.001: the 28th closed
        closed = json.loads(await _body(ops, TREND, 73))
        assert closed["generated_at"] == "2026-11-29T06:00:00.001Z"
        assert [(p["start"][:10], p["entered"], p["open"]) for p in closed["periods"]] == [
            ("2026-11-26", 0, False),
            ("2026-11-27", 0, False),
            ("2026-11-28", 1, False),
            ("2026-11-29", 0, True),
        ]
        closed_csv = (await _body(ops, TREND_CSV, 73)).decode().splitlines()
        assert closed_csv[3] == "2026-11-28T00:00:00.000Z,1,1,0,1.0,false,0"
        assert memo.computed["trend"] == 1  # the same day's counts: only the flags moved
