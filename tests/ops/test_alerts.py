"""The Desk banner's conditions (vm122_ops/desk/banner_conditions.py) through GET
/api/v1/desk/alerts."""

from __future__ import annotations

from typing import Any

from tests.ops.conftest import NOW, Ops

MINUTE = 60.0


async def conditions(ops: Ops) -> list[dict[str, Any]]:
    document = await ops.get("/api/v1/desk/alerts")
    assert document["generated_at"] == "2026-11-29T12:00:00.000Z"
    result: list[dict[str, Any]] = document["conditions"]
    return result


async def test_nothing_stored_nothing_wrong(ops: Ops) -> None:
    assert await conditions(ops) == []


async def test_failure_spike_appears_with_its_sessions_and_clears(ops: Ops) -> None:
    for index in range(5):
        await ops.send("onboarding.started", f"s{index}", NOW - 10 * MINUTE, domain=f"d{index}.pt")
    for index in range(3):
        await ops.send(
            "onboarding.failed",
            f"s{index}",
            NOW - (5 - index) * MINUTE,
            domain=f"d{index}.pt",
            stage="account_created",
        )
    assert await conditions(ops) == [
        {
            "kind": "failure_spike",
            "figures": {"minutes": 15, "failed": 3, "started": 5, "percent": 60, "codes": []},
            "sessions": [
                {
                    "session_id": f"s{index}",
                    "domain": f"d{index}.pt",
                    "stage": "started",
                    "last_event_at": f"2026-11-29T11:5{5 + index}:00.000Z",
                }
                for index in (2, 1, 0)
            ],
        }
    ]
    # Two more started: 3 of 7 is under 50%.
    for index in range(5, 7):
        await ops.send("onboarding.started", f"s{index}", NOW - 1 * MINUTE)
    assert await conditions(ops) == []


async def test_under_the_minimum_of_sessions_is_no_spike(ops: Ops) -> None:
    for index in range(4):
        await ops.send("onboarding.started", f"s{index}", NOW - 10 * MINUTE)
        await ops.send("onboarding.failed", f"s{index}", NOW - 9 * MINUTE, stage="dns_applied")
    assert await conditions(ops) == []


async def test_one_code_spiking_is_a_failure_spike(ops: Ops) -> None:
    for index in range(20):
        await ops.send("onboarding.started", f"s{index}", NOW - 14 * MINUTE)
    for index in range(5):
        await ops.send(
            "onboarding.failed",
            f"s{index}",
            NOW - 3 * MINUTE,
            stage="dns_applied",
            code="cloudflare:81054",
        )
    (condition,) = await conditions(ops)
    assert condition["kind"] == "failure_spike"
    assert condition["figures"] == {
        "minutes": 15,
        "failed": 5,
        "started": 20,
        "percent": 25,
        "codes": [{"step": "dns_applied", "code": "cloudflare:81054", "failures": 5}],
    }
    assert len(condition["sessions"]) == 5


async def test_portal_silent_links_the_last_session(ops: Ops) -> None:
    await ops.send("onboarding.started", "old", NOW - 40 * MINUTE, domain="old.pt")
    await ops.send("onboarding.started", "last", NOW - 31 * MINUTE, domain="last.pt")
    await ops.send("domain.validated", "last", NOW - 30 * MINUTE, domain="last.pt")
    (condition,) = await conditions(ops)
    assert condition == {
        "kind": "portal_silent",
        "figures": {"minutes": 31, "threshold_minutes": 30},
        "sessions": [
            {
                "session_id": "last",
                "domain": "last.pt",
                "stage": "domain_validated",
                "last_event_at": "2026-11-29T11:30:00.000Z",
            }
        ],
    }
    ops.clock.now = NOW - 2 * MINUTE  # 29 minutes after the last start: quiet
    document = await ops.get("/api/v1/desk/alerts")
    assert document["conditions"] == []


async def test_stuck_sessions_at_the_threshold(ops: Ops) -> None:
    for index in range(5):
        await ops.send("onboarding.started", f"s{index}", NOW - (20 + index) * MINUTE)
    await ops.send("onboarding.started", "fresh", NOW - 5 * MINUTE)
    (condition,) = await conditions(ops)
    assert condition["kind"] == "stuck_sessions"
    assert condition["figures"] == {"stuck": 5, "threshold": 5}
    assert [s["session_id"] for s in condition["sessions"]] == ["s4", "s3", "s2", "s1", "s0"]
    await ops.send("domain.validated", "s0", NOW - 1 * MINUTE)  # moving again: 4 stuck
    assert await conditions(ops) == []
