"""Issue 17, finding 2: one bad outbox row never stops delivery.

The attack: a session id with a trailing newline became a webhook-id that httpx refuses as
a header value on every attempt; the dispatcher took that for "Ops unreachable" and retried
it at the head of a strictly ordered queue for 24 hours, with every event behind it
waiting. Now an error that is not a network or server error dead-letters the event at
once, with the reason; delivery is ordered per session, so an event that keeps failing
only holds back the later events of its own session; redrive refuses what cannot be sent.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import httpx
import orjson

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support.poll import wait_until
from vm112_portal.db import Database
from vm112_portal.outbox.ops_webhook import emit_event, redrive

# h11 (httpx's HTTP/1.1 engine) refuses a header value with CR, LF or NUL, or with
# leading/trailing whitespace: h11/_abnf.py field_value, checked in h11/_headers.py
# normalize_and_validate. MockTransport skips that, so this transport applies it.
_FIELD_VALUE = re.compile(r"[\x21-\x7e\x80-\xff]([\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?")


class StrictOps(httpx.AsyncBaseTransport):
    def __init__(self, fake: FakeOps) -> None:
        self.fake = fake
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _name, value in request.headers.raw:
            if not _FIELD_VALUE.fullmatch(value.decode("latin-1")):
                self.refused += 1
                raise httpx.LocalProtocolError(f"Illegal header value {value!r}")
        return await self.fake(request)


def insert_raw_row(db_path: Path, webhook_id: str, session_id: str) -> None:
    """An outbox row as the Portal queued it before the full-match fix."""
    body = orjson.dumps(
        {
            "type": "onboarding.started",
            "timestamp": "2026-12-01T10:00:00.000Z",
            "data": {"session_id": session_id, "domain": "poison.example"},
        }
    ).decode()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "insert into outbox (webhook_id, event_type, session_id, body, created_at,"
            " next_attempt_at) values (?, 'onboarding.started', ?, ?, ?, ?)",
            (webhook_id, session_id, body, time.time(), time.time()),
        )


async def emit_good(portal: Portal, session_id: str, count: int) -> None:
    db: Database = portal.app.state.portal.db
    for i in range(count):
        async with db.transaction() as tx:
            await emit_event(
                tx, "domain.validated", {"session_id": session_id, "domain": f"d{i}.pt"}
            )


async def test_a_session_id_with_a_newline_is_refused_at_the_door(portal: Portal) -> None:
    response = await portal.validate("poison\n", "example.com")
    assert response.status_code == 400
    assert "session_id" in response.json()["error"]
    assert portal.outbox() == []


async def test_an_unsendable_event_is_dead_lettered_and_the_rest_go_on(tmp_path: Path) -> None:
    fake = FakeOps()
    strict = StrictOps(fake)
    settings = make_settings(tmp_path)
    async with running_portal(settings, fake, transport=strict) as portal:
        insert_raw_row(settings.db_path, "onboarding-started-poison\n", "poison\n")
        started = time.monotonic()
        await emit_good(portal, "good", 4)
        await wait_until(portal.drained, timeout=3)
        elapsed = time.monotonic() - started
        rows = portal.outbox()
        health = await portal.health()
    poison, *good = rows
    assert poison["state"] == "dead" and poison["attempts"] == 1 and strict.refused == 1
    assert poison["last_error"].startswith("cannot be sent: LocalProtocolError Illegal header")
    assert [row["state"] for row in good] == ["delivered"] * 4
    assert fake.types_for("good") == ["domain.validated"] * 4
    assert elapsed < 1.0
    assert health["outbox"]["dead"] == 1


async def test_an_unexpected_error_dead_letters_instead_of_looping(tmp_path: Path) -> None:
    fake = FakeOps()
    calls: list[str] = []

    async def broken_then_fine(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["webhook-id"])
        if len(calls) == 1:
            raise ValueError("a bug in the sending code")
        return await fake(request)

    transport = httpx.MockTransport(broken_then_fine)
    async with running_portal(make_settings(tmp_path), fake, transport=transport) as portal:
        await emit_good(portal, "s1", 1)
        await emit_good(portal, "s2", 1)
        await wait_until(portal.drained, timeout=3)
        rows = portal.outbox()
    assert [row["state"] for row in rows] == ["dead", "delivered"]
    assert rows[0]["last_error"] == "cannot be sent: ValueError a bug in the sending code"
    assert len(calls) == 2


async def test_a_failing_event_delays_other_sessions_by_at_most_one_retry_interval(
    tmp_path: Path,
) -> None:
    """Ops answers 500 to one session's event for ever; other sessions flow past it."""
    fake = FakeOps()

    async def poisoned(request: httpx.Request) -> httpx.Response:
        if orjson.loads(request.content)["data"]["session_id"] == "stuck":
            return httpx.Response(500, json={"ok": False, "error": "boom", "status": 500})
        return await fake(request)

    # One retry interval: the backoff of 0.4 s (base and cap), the poll 0.05 s.
    settings = make_settings(tmp_path, backoff_base=0.4, backoff_max=0.4)
    transport = httpx.MockTransport(poisoned)
    async with running_portal(settings, fake, transport=transport) as portal:
        await emit_good(portal, "stuck", 2)
        started = time.monotonic()
        await emit_good(portal, "next", 3)

        async def next_delivered() -> bool:
            return len(fake.types_for("next")) == 3

        await wait_until(next_delivered, timeout=5, interval=0.01)
        elapsed = time.monotonic() - started
        stuck = [row for row in portal.outbox() if row["session_id"] == "stuck"]
    assert elapsed < settings.backoff_max
    # The stuck session keeps its own order: its second event waits behind the first.
    assert [row["state"] for row in stuck] == ["pending", "pending"]
    assert stuck[0]["attempts"] >= 1 and stuck[1]["attempts"] == 0


async def test_redrive_refuses_an_event_that_cannot_be_sent(tmp_path: Path) -> None:
    fake = FakeOps(responses=[httpx.Response(422, json={"ok": False, "error": "x", "status": 422})])
    strict = StrictOps(fake)
    settings = make_settings(tmp_path)
    async with running_portal(settings, fake, transport=strict) as portal:
        insert_raw_row(settings.db_path, "onboarding-started-poison\n", "poison\n")
        await emit_good(portal, "good", 1)  # Ops refuses it (422): sendable, redriven

        async def both_dead() -> bool:
            return [row["state"] for row in portal.outbox()] == ["dead", "dead"]

        await wait_until(both_dead, timeout=3)
        result = await redrive(portal.app.state.portal.db)
        assert result.queued == 1
        assert [webhook_id for webhook_id, _ in result.refused] == ["onboarding-started-poison\n"]
        assert "webhook-id" in result.refused[0][1]
        await wait_until(portal.drained, timeout=3)
        rows = portal.outbox()
    assert [row["state"] for row in rows] == ["dead", "delivered"]
    assert strict.refused == 1


async def test_healthz_carries_no_session_id(tmp_path: Path) -> None:
    """/healthz is open: its last error says what kind of failure, never whose."""
    body = {"ok": False, "error": "session secret-session-42 refused", "status": 422}
    fake = FakeOps(responses=[httpx.Response(422, json=body)])
    async with running_portal(make_settings(tmp_path), fake) as portal:
        await emit_good(portal, "secret-session-42", 1)

        async def dead() -> bool:
            return [row["state"] for row in portal.outbox()] == ["dead"]

        await wait_until(dead, timeout=3)
        response = await portal.client.get("/healthz")
    assert "secret-session-42" not in response.text
    assert response.json()["outbox"]["last_error"] == {
        "event_type": "domain.validated",
        "status": 422,
        "error": "HTTP 422",
    }
