"""Retention: old raw events go in batches; the live window's funnel and tickets stay."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops.conftest import AUTH, NOW, Ops
from tests.support import peek
from vm122_ops.funnel import trend
from vm122_ops.store import retention

DAY = 86_400.0


async def test_purge_keeps_the_funnel_and_tickets_readable(ops: Ops) -> None:
    # Received 100 days ago (old), and recently.
    ops.clock.now = NOW - 100 * DAY
    for i in range(5):
        await ops.send("onboarding.started", f"old{i}", NOW - 100 * DAY)
    await ops.send("account.created", "old0", NOW - 100 * DAY + 60)
    ops.clock.now = NOW
    await ops.send("onboarding.started", "new", NOW - 3600)
    await ops.send("account.created", "new", NOW - 1800)
    funnel_before = await ops.funnel()
    wide_before = await ops.funnel(hours=720)
    tickets_before = await ops.get("/api/v1/desk/tickets")
    old_ticket = next(t for t in tickets_before["tickets"] if t["session_id"] == "old0")
    detail_before = await ops.get(f"/api/v1/desk/tickets/{old_ticket['id']}")

    plan = await retention.plan_purge(ops.db, 90, int(NOW * 1000))
    assert plan.rows == 6
    removed = await retention.purge(ops.db, 90, int(NOW * 1000))
    assert removed == 6
    assert await ops.count() == 2
    assert (await retention.plan_purge(ops.db, 90, int(NOW * 1000))).rows == 0

    funnel_after = await ops.funnel()
    assert funnel_after == funnel_before
    assert await ops.funnel(hours=720) == wide_before
    assert await ops.get("/api/v1/desk/tickets") == tickets_before
    assert await ops.get(f"/api/v1/desk/tickets/{old_ticket['id']}") == detail_before
    # The session's derived state stays; only its raw timeline is gone.
    timeline = await ops.client.get("/api/v1/onboard/sessions/old0/timeline", headers=AUTH)
    assert timeline.json()["events"] == []
    assert timeline.json()["stage"] == "account_created"


async def test_a_short_retention_keeps_the_rollups_of_the_widest_previous_window(
    ops: Ops,
) -> None:
    """A 720 h window's previous window reaches 1440 h back: its rollup hours stay even
    when raw events are kept only 7 days."""
    ops.clock.now = NOW - 1000 * 3600
    for i in range(3):
        await ops.send("onboarding.started", f"old{i}", NOW - 1000 * 3600)
    ops.clock.now = NOW
    await ops.send("onboarding.started", "new", NOW - 3600)
    before = (await ops.funnel(hours=720))["previous"]
    assert before["cohort"] == 3
    assert await retention.purge(ops.db, 7, int(NOW * 1000)) == 3
    ops.clock.now = NOW + 60  # another start hour: read again (a purge keeps answers)
    after = (await ops.funnel(hours=720))["previous"]
    assert (after["cohort"], after["stages"]) == (3, before["stages"])


async def test_a_purge_keeps_the_90_day_trend(ops: Ops) -> None:
    """The conversion trend reaches 2160 h (90 days) back: a purge, whatever the raw
    events' retention, keeps those rollup hours, so a kept trend answer stays equal to a
    fresh computation (and the trend is right whether or not the purge moved the stamp)."""
    ops.clock.now = NOW - 80 * DAY
    await ops.send("onboarding.started", "eighty", NOW - 80 * DAY)
    ops.clock.now = NOW - 2140 * 3600
    await ops.send("onboarding.started", "edge", NOW - 2140 * 3600)
    ops.clock.now = NOW
    await ops.send("onboarding.started", "new", NOW - 3600)
    kept = await ops.get("/api/v1/onboard/trend", hours=2160)
    assert sum(period["entered"] for period in kept["periods"]) == 3
    for days in (90, 7):
        await retention.purge(ops.db, days, int(NOW * 1000))
        fresh = await ops.db.read(trend.series, 2160, int(NOW * 1000), 24)
        assert {**fresh.document(), "ok": True} == kept
        assert await ops.get("/api/v1/onboard/trend", hours=2160) == kept


async def test_purge_runs_in_batches(ops: Ops, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 7)
    writes = 0
    real_write = ops.db.write

    async def counting_write(unit: Any) -> Any:
        nonlocal writes
        writes += 1
        return await real_write(unit)

    ops.clock.now = NOW - 100 * DAY
    for i in range(30):
        await ops.send("onboarding.started", f"s{i}", NOW - 100 * DAY)
    ops.clock.now = NOW
    monkeypatch.setattr(ops.db, "write", counting_write)
    # The newest row always stays, so row ids are never reused.
    assert await retention.purge(ops.db, 90, int(NOW * 1000)) == 29
    assert writes == 5 + 1  # 29 rows in batches of 7, then the rollup cleanup
    assert await ops.count() == 1
    assert await ops.count("onboard_sessions") == 30
    response = await ops.send("onboarding.started", "after-purge", NOW - 10)
    assert response.json()["id"] == 31  # not a reused id


async def test_purge_keeps_two_days_of_minute_activity_and_the_failure_rollup(ops: Ops) -> None:
    await ops.send("onboarding.started", "old", NOW - 3 * DAY)
    await ops.send("onboarding.failed", "old", NOW - 3 * DAY + 60, stage="dns_applied")
    await ops.send("onboarding.started", "new", NOW - 600)
    assert await ops.count("activity_minutes") == 3
    failures_before = await ops.get("/api/v1/onboard/failures", hours=720)
    await retention.purge(ops.db, 90, int(NOW * 1000))
    # Only the minutes newer than two days stay; the hourly failures are all kept.
    assert await ops.count("activity_minutes") == 1
    assert await ops.get("/api/v1/onboard/failures", hours=720) == failures_before
    assert failures_before["total"] == 1


async def test_purge_keeps_two_days_of_refused_attempts(ops: Ops) -> None:
    gmail = {"code": "mailbox_provider", "status": 422}
    await ops.send("onboarding.started", "old", NOW - 3 * DAY, refusal=gmail)
    await ops.send("onboarding.started", "new", NOW - 600, refusal=gmail)
    await ops.send("onboarding.started", "new", NOW - 300, domain="(rejected)")
    assert await ops.count("refusal_minutes") == 3
    await retention.purge(ops.db, 90, int(NOW * 1000))
    # The minutes of the last two days stay; the older one is gone.
    rows = peek.records(ops.db_path, "select minute, code, attempts from refusal_minutes")
    assert sorted((row["minute"], row["code"], row["attempts"]) for row in rows) == [
        (int(NOW * 1000 - 600_000) // 60_000, "mailbox_provider", 1),
        (int(NOW * 1000 - 300_000) // 60_000, "unspecified", 1),
    ]
