"""The outbox emitter and dispatcher (vm112_portal/outbox/ops_webhook.py) against a
MockTransport Ops."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support.credentials import KEY
from tests.support.poll import wait_until
from vm112_portal.db import Database
from vm112_portal.outbox.ops_webhook import (
    classify,
    emit_event,
    parse_retry_after,
    redrive,
    rfc3339,
    started_webhook_id,
)
from vm112_portal.settings import Settings


async def emit(portal: Portal, count: int, session_id: str = "s1") -> None:
    db: Database = portal.app.state.portal.db
    for i in range(count):
        async with db.transaction() as tx:
            await emit_event(
                tx, "domain.validated", {"session_id": session_id, "domain": f"d{i}.pt"}
            )


# What the outbox does with a row after each answer of Ops (200: a duplicate; 401: a
# clock or a secret that may be mended).
OUTCOMES = {
    "delivered": (202, 200),
    "retry": (401, 408, 429, 500, 503),
    "dead": (400, 404, 413, 415, 422),
}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [pytest.param(s, outcome, id=str(s)) for outcome, codes in OUTCOMES.items() for s in codes],
)
def test_classify(status: int, outcome: str) -> None:
    assert classify(status) == outcome


def test_retry_after() -> None:
    now = 1_795_953_600.0
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after("999999", now) == 3600.0
    assert parse_retry_after("Sun, 29 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_rfc3339_and_started_id() -> None:
    moment = datetime(2026, 11, 29, 10, 0, 0, 123456, tzinfo=UTC)
    assert rfc3339(moment) == "2026-11-29T10:00:00.123Z"
    assert started_webhook_id("abc") == "onboarding-started-abc"


async def test_signature_matches_the_standard_webhooks_scheme(portal: Portal) -> None:
    await emit(portal, 1)
    await wait_until(portal.drained)
    (request,) = portal.ops.received
    headers = request["headers"]
    row = portal.outbox()[0]
    to_sign = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{row['body']}".encode()
    expected = base64.b64encode(hmac.new(KEY, to_sign, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 5
    assert headers["webhook-id"] == row["webhook_id"]
    assert row["state"] == "delivered" and row["attempts"] == 1


async def test_delivers_in_creation_order(portal: Portal) -> None:
    await emit(portal, 5)
    await wait_until(portal.drained)
    assert [r["data"]["domain"] for r in portal.ops.received] == [f"d{i}.pt" for i in range(5)]


async def test_retries_5xx_then_delivers_resigned(tmp_path: Path) -> None:
    ops = FakeOps(responses=[503, 500, 408])
    async with running_portal(make_settings(tmp_path), ops) as portal:
        await emit(portal, 2)
        await wait_until(portal.drained)
        rows = portal.outbox()
    assert [status for _, status in ops.attempts] == [503, 500, 408, 202, 202]
    assert [row["attempts"] for row in rows] == [4, 1]
    assert {row["state"] for row in rows} == {"delivered"}
    first_id = rows[0]["webhook_id"]
    assert {r["webhook_id"] for r in ops.received[:4]} == {first_id}  # same id every attempt
    assert len(ops.stored) == 2


async def test_network_errors_and_timeouts_are_retried(tmp_path: Path) -> None:
    calls = 0
    fake = FakeOps()

    async def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("refused")
        if calls == 2:
            fake.hang = True
        elif calls == 3:
            fake.hang = False
        return await fake(request)

    settings = make_settings(tmp_path, ops_timeout=0.2)
    async with running_portal(settings, fake, transport=httpx.MockTransport(flaky)) as portal:
        await emit(portal, 1)
        await wait_until(portal.drained)
        row = portal.outbox()[0]
    assert calls == 3 and row["attempts"] == 3 and row["state"] == "delivered"
    assert len(fake.stored) == 1


async def test_retry_after_is_honoured(tmp_path: Path) -> None:
    ops = FakeOps(responses=[httpx.Response(429, headers={"Retry-After": "30"})])
    async with running_portal(make_settings(tmp_path), ops) as portal:
        await emit(portal, 1)
        await wait_until(lambda: _attempted(portal))
        row = portal.outbox()[0]
        health = await portal.health()
    assert row["state"] == "pending" and row["last_status"] == 429
    assert 28 < row["next_attempt_at"] - time.time() <= 30.5
    assert health["outbox"]["pending"] == 1
    assert health["outbox"]["last_error"]["status"] == 429


async def _attempted(portal: Portal) -> bool:
    return bool(portal.outbox()[0]["attempts"] >= 1)


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_permanent_rejection_is_dead_lettered_and_the_rest_goes_on(
    tmp_path: Path, status: int
) -> None:
    body = {"ok": False, "error": "data.domain is required", "status": status}
    ops = FakeOps(responses=[httpx.Response(status, json=body)])
    async with running_portal(make_settings(tmp_path), ops) as portal:
        await emit(portal, 2)
        await wait_until(portal.drained)
        rows = portal.outbox()
        health = await portal.health()
    assert [row["state"] for row in rows] == ["dead", "delivered"]
    assert rows[0]["last_error"] == f"HTTP {status} data.domain is required"
    assert health["outbox"]["dead"] == 1 and health["outbox"]["delivered"] == 1


async def test_401_is_retried_and_logged_as_clock_or_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stale = httpx.Response(401, json={"ok": False, "error": "stale timestamp", "status": 401})
    ops = FakeOps(responses=[stale])
    async with running_portal(make_settings(tmp_path), ops) as portal:
        await emit(portal, 1)
        await wait_until(portal.drained)
        row = portal.outbox()[0]
    assert row["state"] == "delivered" and row["attempts"] == 2
    assert any("clocks agree within 5 minutes" in r.getMessage() for r in caplog.records)


async def test_too_old_event_is_dead_lettered_then_redriven(tmp_path: Path) -> None:
    ops = FakeOps(responses=[503])
    settings = make_settings(tmp_path, outbox_max_age=0.001)
    async with running_portal(settings, ops) as portal:
        await emit(portal, 1)
        await wait_until(lambda: _state_is(portal, "dead"))
        row = portal.outbox()[0]
        assert row["last_error"].startswith("gave up after 0.001s: HTTP 503")
        assert (await redrive(portal.app.state.portal.db)).queued == 1
        await wait_until(portal.drained)
        row = portal.outbox()[0]
    assert row["state"] == "delivered" and row["redriven_at"] is not None
    assert [status for _, status in ops.attempts] == [503, 202]


async def _state_is(portal: Portal, state: str) -> bool:
    return bool(portal.outbox()[0]["state"] == state)


async def test_pending_rows_resume_after_restart_exactly_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    down = FakeOps(responses=[503] * 1000)
    async with running_portal(settings, down) as portal:
        await emit(portal, 3)
        await wait_until(lambda: _attempted(portal))
    assert [row["state"] for row in portal.outbox()] == ["pending"] * 3
    up = FakeOps()
    async with running_portal(settings, up) as portal:
        await wait_until(portal.drained)
    assert [body["data"]["domain"] for body in up.stored.values()] == ["d0.pt", "d1.pt", "d2.pt"]
    assert len(up.received) == 3


async def test_same_webhook_id_is_queued_once(portal: Portal) -> None:
    db: Database = portal.app.state.portal.db
    for _ in range(3):
        async with db.transaction() as tx:
            await emit_event(
                tx,
                "onboarding.started",
                {"session_id": "s1", "domain": "a.pt"},
                webhook_id=started_webhook_id("s1"),
            )
    await wait_until(portal.drained)
    assert [row["webhook_id"] for row in portal.outbox()] == ["onboarding-started-s1"]


async def test_emit_refuses_passwords_unknown_types_and_huge_bodies(portal: Portal) -> None:
    db: Database = portal.app.state.portal.db
    cases = [
        ("onboarding.started", {"session_id": "s", "domain": "a.pt", "password": "x"}),
        ("domain.deleted", {"session_id": "s", "domain": "a.pt"}),
        ("dns.applied", {"session_id": "s", "domain": "a.pt", "blob": "x" * 70000}),
    ]
    for event_type, data in cases:
        with pytest.raises(ValueError):
            async with db.transaction() as tx:
                await emit_event(tx, event_type, data)
    assert portal.outbox() == []


async def test_event_rolls_back_with_its_transaction(portal: Portal) -> None:
    db: Database = portal.app.state.portal.db
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "s", "domain": "a.pt"})
            raise RuntimeError("the wizard step failed after emitting")
    assert portal.outbox() == []


async def test_body_follows_the_contract(portal: Portal) -> None:
    await emit(portal, 1)
    await wait_until(portal.drained)
    (body,) = portal.ops.stored.values()
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "domain.validated"
    assert body["timestamp"].endswith("Z") and len(body["timestamp"]) == 24
    assert body["data"] == {"session_id": "s1", "domain": "d0.pt"}
    assert orjson.loads(portal.outbox()[0]["body"]) == body


@pytest.fixture
async def stalled(settings: Settings) -> AsyncIterator[Portal]:
    async with running_portal(settings, FakeOps(hang=True)) as running:
        yield running


async def test_hanging_ops_does_not_block_commits(stalled: Portal) -> None:
    started = time.perf_counter()
    await emit(stalled, 20)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert len(stalled.outbox()) == 20
