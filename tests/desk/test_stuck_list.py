"""The stuck list (docs/desk.md, "Stuck sessions"): the dashboard's "Stuck now" equals the
list's total and an oracle over random sessions that classifies each one from its own
events with the paces Ops reports (GET /api/v1/onboard/paces); and the paces themselves."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops, running_ops
from tests.support.apps import ops_settings

STEPS = ["onboarding.started", "domain.validated", "dns.applied", "account.created"]
STEPS += ["infra.synced", "onboarding.completed"]
STAGES = ["started", "domain_validated", "dns_applied", "account_created", "infra_synced"]


async def all_items(ops: Ops, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    page = await ops.get("/api/v1/onboard/funnel/sessions", limit=200, **params)
    items, total = list(page["items"]), page["total"]
    while page["next"]:
        page = await ops.get(
            "/api/v1/onboard/funnel/sessions", limit=200, cursor=page["next"], **params
        )
        items += page["items"]
    return total, items


@pytest.mark.parametrize("seed", [7, 8, 9])
async def test_stuck_now_equals_the_list_and_an_oracle(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    async with running_ops(ops_settings(tmp_path / "ops.db")) as ops:
        # Sessions started in the last 30 h, each moving some steps with random pauses
        # (minutes to hours), some failing; times on whole seconds, far from boundaries
        # only by chance: the oracle uses the same rule, so any boundary is exact.
        last: dict[str, tuple[float, int, str]] = {}  # session -> (last at, stage, status)
        for index in range(60):
            session = f"r{index}"
            at = NOW - rng.randrange(60, 30 * 3600)
            steps = rng.randrange(1, len(STEPS) + 1)
            stage, status, sent = 0, "active", at
            for number in range(steps):
                response = await ops.send(STEPS[number], session, at, domain=f"{session}.pt")
                assert response.status_code == 202, response.text
                stage, sent = number, at
                if number == len(STEPS) - 1:
                    status = "completed"
                at += rng.choice([30, 300, 900, 3600, 7200])
                if at >= NOW - 1:
                    break
            if status == "active" and rng.random() < 0.15:
                sent = min(sent + 60, NOW - 1)
                await ops.send("onboarding.failed", session, sent, domain=f"{session}.pt")
                status = "failed"
            last[session] = (sent, min(stage, 4), status)
        paces = await ops.get("/api/v1/onboard/paces")
        stuck_after = {p["stage"]: p["stuck_after_seconds"] for p in paces["steps"]}
        abandon = paces["abandon_after_seconds"]
        expected = set()
        for session, (at, stage, status) in last.items():
            idle = NOW - at
            if status == "active" and stuck_after[STAGES[stage]] < idle <= abandon:
                expected.add(session)
        funnel = await ops.funnel(hours=720)
        dashboard = sum(counts["stuck"] for counts in funnel["stopped"].values())
        total, items = await all_items(ops, hours=720, state="stuck")
        listed = {item["session_id"]: item for item in items}
        states = {}
        for state in ("moving", "abandoned", "failed", "completed"):
            for item in (await all_items(ops, hours=720, state=state))[1]:
                states[item["session_id"]] = (state, item["stage"], item["last_event_at"])
        assert set(listed) == expected, (
            paces,
            [
                (
                    s,
                    listed.get(s, {}).get("last_event_at"),
                    states.get(s),
                    NOW - last[s][0],
                    last[s],
                )
                for s in set(listed) ^ expected
            ],
        )
        assert dashboard == total == len(expected)
        assert len(expected) > 3  # the seeds give a real list


async def test_paces_say_each_steps_usual_time_and_when_stuck(tmp_path: Path) -> None:
    async with running_ops(ops_settings(tmp_path / "ops.db")) as ops:
        await check_paces(ops)


async def check_paces(ops: Ops) -> None:
    # Ten sessions took 10 min to validate their domain (7 days' histograms).
    for index in range(10):
        await ops.send("onboarding.started", f"p{index}", NOW - 3 * HOUR)
        await ops.send("domain.validated", f"p{index}", NOW - 3 * HOUR + 600)
    for index in range(10):  # and 40 min from validation to DNS
        await ops.send("dns.applied", f"p{index}", NOW - 3 * HOUR + 600 + 2400)
    answer = await ops.get("/api/v1/onboard/paces")
    steps = {step["stage"]: step for step in answer["steps"]}
    assert [step["to"] for step in answer["steps"]] == [
        "domain_validated",
        "dns_applied",
        "account_created",
        "infra_synced",
        "completed",
    ]
    assert steps["started"]["p90_seconds"] == pytest.approx(600, rel=0.005)
    assert steps["started"]["stuck_after_seconds"] == 900  # never under 15 min
    assert steps["domain_validated"]["p90_seconds"] == pytest.approx(2400, rel=0.005)
    assert steps["domain_validated"]["stuck_after_seconds"] == pytest.approx(2400, rel=0.005)
    assert steps["dns_applied"] == {
        "stage": "dns_applied",
        "to": "account_created",
        "p90_seconds": None,
        "stuck_after_seconds": 900,
    }
    assert answer["abandon_after_seconds"] == 24 * 3600
    response = await ops.client.get("/api/v1/onboard/paces", params={"hours": 3}, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["ok"] is False
