"""A kept drill-down page (vm122_ops/kept/cohort_answers.py) and retention: a failed session's
``failure_reason`` is read from its last event's payload, and a purge of raw events older
than OPS_RETENTION_DAYS (1-3650; windows reach 720 h) removes it without a new event.
The page answered after a purge equals a fresh ``cohort.page`` at that millisecond."""

from __future__ import annotations

import orjson

from tests.ops.conftest import AUTH, NOW, Ops
from vm122_ops.funnel import cohort
from vm122_ops.funnel.rollups import HOUR_MS
from vm122_ops.funnel.session_states import StateRule
from vm122_ops.ingest.events import STAGE_TYPES
from vm122_ops.store import retention

SESSIONS = "/api/v1/onboard/funnel/sessions"
DAY_MS = 24 * HOUR_MS
HOURS = 72


def at_ms(ops: Ops, ms: int) -> None:
    ops.clock.now = (ms + 0.5) / 1000


async def failed_page(ops: Ops) -> bytes:
    params: dict[str, str | int] = {"hours": HOURS, "state": "failed", "limit": 5}
    response = await ops.client.get(SESSIONS, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.content


async def fresh_failed_page(ops: Ops, now_ms: int) -> bytes:
    window = cohort.CohortWindow(since_ms=now_ms - HOURS * HOUR_MS, now_ms=now_ms)
    filters = cohort.CohortFilter(state="failed")
    page = await ops.db.read(cohort.page, window, StateRule(), filters, 5, None)
    return orjson.dumps({"ok": True, **page.document(HOURS)})


async def test_a_purge_of_the_failures_event_is_seen_by_the_kept_page(ops: Ops) -> None:
    start = int(NOW * 1000) + 10 * 60_000  # not on an hour: one basis throughout
    at_ms(ops, start)
    await ops.send(STAGE_TYPES[0], "gone", (start - 60_000) / 1000)
    response = await ops.send("onboarding.failed", "gone", start / 1000, reason="dns refused")
    assert response.status_code == 202, response.text
    later = start + 2 * DAY_MS
    at_ms(ops, later)
    # A newer event (retention always keeps the newest row), received two days later.
    assert (await ops.send(STAGE_TYPES[0], "newer", later / 1000)).status_code == 202
    first = orjson.loads(await failed_page(ops))
    assert [item["failure_reason"] for item in first["items"]] == ["dns refused"]

    # As the app's hourly purge calls it (vm122_ops/app.py): its commits move the stamp.
    assert await retention.purge(ops.db, 1, later) == 2  # the failed session's
    at_ms(ops, later + 1)
    expected = await fresh_failed_page(ops, later + 1)
    assert [item["failure_reason"] for item in orjson.loads(expected)["items"]] == [None]
    assert await failed_page(ops) == expected
