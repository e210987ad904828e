"""End to end: the real portal and the real Ops (vm122_ops), loopback only.

- in-process: a full wizard gives the six events and the funnel; fail… gives
  onboarding.failed and a ticket; nocf… skips dns.applied and completes;
- Ops down (closed port) and Ops hanging (accepts, never answers) do not slow the wizard,
  and once Ops is back every event arrives exactly once;
- the portal SIGKILLed with pending outbox rows delivers them after restart, exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support.apps import OpsServer, ops_in_process, portal_process
from tests.support.peek import stored_events
from tests.support.poll import wait_until
from tests.support.runner import free_port
from vm122_ops.ingest.events import STAGE_TYPES

HAPPY = list(STAGE_TYPES)


@dataclass
class HangingServer:
    """Accepts connections on 127.0.0.1:port, reads, and never answers."""

    port: int
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    accepted: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        while await reader.read(65536):
            pass

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()
            self._server = None


async def timed_wizard(portal: Portal, session_id: str, domain: str) -> list[float]:
    """The three wizard calls, each timed; all must succeed."""
    durations = []
    for step in (portal.validate, portal.dns, portal.account):
        started = time.perf_counter()
        response = await step(session_id, domain)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return durations


async def test_wizard_to_real_ops_events_funnel_and_tickets(tmp_path: Path) -> None:
    async with ops_in_process(tmp_path / "ops.db") as (ops_app, ops):
        settings = make_settings(tmp_path)
        transport = httpx.ASGITransport(app=ops_app)
        async with running_portal(settings, FakeOps(), transport=transport) as portal:
            assert all(r.status_code == 200 for r in await portal.wizard("e-ok", "example.pt"))
            failed = await portal.wizard("e-fail", "fail-shop.pt")
            assert [r.status_code for r in failed] == [200, 200, 502]
            assert all(r.status_code == 200 for r in await portal.wizard("e-nocf", "nocf-shop.pt"))
            await wait_until(portal.drained)
            assert (await portal.health())["outbox"]["dead"] == 0

        timeline = (await ops.get("/api/v1/onboard/sessions/e-ok/timeline")).json()
        assert [e["event_type"] for e in timeline["events"]] == HAPPY
        assert (timeline["status"], timeline["stage"], timeline["domain"]) == (
            "completed",
            "completed",
            "example.pt",
        )
        nocf = (await ops.get("/api/v1/onboard/sessions/e-nocf/timeline")).json()
        # nocf: dns.applied with mode manual (the records are the customer's to add)
        assert [e["event_type"] for e in nocf["events"]] == HAPPY
        assert nocf["events"][2]["data"]["mode"] == "manual"
        fail = (await ops.get("/api/v1/onboard/sessions/e-fail/timeline")).json()
        assert [e["event_type"] for e in fail["events"]] == [*HAPPY[:3], "onboarding.failed"]
        assert fail["status"] == "failed"
        assert fail["events"][-1]["data"]["stage"] == "account_created"

        funnel = (await ops.get("/api/v1/onboard/funnel")).json()
        assert funnel["stages"] == {
            "started": 3,
            "domain_validated": 3,
            "dns_applied": 3,
            "account_created": 2,
            "infra_synced": 2,
            "completed": 2,
        }
        assert funnel["failed"] == 1
        assert funnel["failed_by_furthest_stage"]["dns_applied"] == 1
        assert funnel["failed_by_step"]["account_created"] == 1  # the step that failed

        tickets = (await ops.get("/api/v1/desk/tickets", params={"session_id": "e-fail"})).json()
        assert [t["session_id"] for t in tickets["tickets"]] == ["e-fail"]
        ready = (await ops.get("/api/v1/desk/tickets", params={"session_id": "e-ok"})).json()
        assert "ready_for_ops" in ready["tickets"][0]["tags"]

    events = stored_events(tmp_path / "ops.db")
    assert len(events) == 6 + 4 + 6 and len({event_id for event_id, _, _ in events}) == 16


async def test_ops_down_and_hanging_do_not_slow_the_wizard(tmp_path: Path) -> None:
    port = free_port()
    ops_db = tmp_path / "ops.db"
    ops = OpsServer(ops_db, port=port)
    settings = make_settings(
        tmp_path, ops_url=f"http://127.0.0.1:{port}", ops_timeout=2.0, backoff_max=0.1
    )
    await ops.start()
    try:
        async with running_portal(settings, transport=httpx.AsyncHTTPTransport()) as portal:
            baseline = await timed_wizard(portal, "up-1", "up-shop.pt")
            await wait_until(portal.drained)

            await ops.stop()  # Ops down: nothing listens on the port
            down = await timed_wizard(portal, "down-1", "down-shop.pt")
            await wait_until(lambda: _retried(portal), timeout=5)

            hanging = HangingServer(port)  # Ops hanging: accepts, never answers
            await hanging.start()
            try:
                hung = await timed_wizard(portal, "hang-1", "hang-shop.pt")
                await wait_until(lambda: _accepted(hanging), timeout=5)
                pending = (await portal.health())["outbox"]["pending"]
            finally:
                await hanging.stop()

            await ops.start()  # Ops back
            await wait_until(portal.drained, timeout=15)
            health = await portal.health()
    finally:
        await ops.stop()

    limit = max(max(baseline) * 3, 0.3)
    assert max(down) < limit, (baseline, down)
    assert max(hung) < limit, (baseline, hung)
    assert pending == 12
    assert health["outbox"]["dead"] == 0
    events = stored_events(ops_db)
    per_session = Counter(session for _, session, _ in events)
    assert per_session == {"up-1": 6, "down-1": 6, "hang-1": 6}
    assert len({event_id for event_id, _, _ in events}) == 18
    for session in ("down-1", "hang-1"):
        assert [t for _, s, t in events if s == session] == HAPPY


async def _retried(portal: Portal) -> bool:
    return any(row["attempts"] >= 2 for row in portal.outbox() if row["state"] == "pending")


async def _accepted(hanging: HangingServer) -> bool:
    return hanging.accepted >= 1


async def _healthz(base: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            document: dict[str, Any] = (await client.get("/healthz")).json()
            return document
    except httpx.HTTPError:
        return None


async def test_sigkilled_portal_delivers_pending_events_after_restart(tmp_path: Path) -> None:
    portal_port, ops_port = free_port(), free_port()
    base = f"http://127.0.0.1:{portal_port}"
    log = tmp_path / "portal.log"
    ops = OpsServer(tmp_path / "ops.db", port=ops_port)
    process = portal_process(
        tmp_path / "portal.db",
        portal_port,
        ops_port,
        log,
        PORTAL_OPS_TIMEOUT="1",
        PORTAL_OUTBOX_BACKOFF_MAX="0.2",
    ).start()
    try:
        await wait_until(lambda: _up(base), timeout=20, interval=0.1)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            body: dict[str, str] = {"session_id": "kill-1", "domain": "kill-shop.pt"}
            for path in ("validate-domain", "dns/cloudflare/apply"):
                response = await client.post(f"/api/v1/onboarding/{path}", json=body)
                assert response.status_code == 200, response.text
            account = {
                **body,
                "admin_local_part": "admin",
                "display_name": "Ana",
                "password": "Sup3r-secret-pw!",
            }
            response = await client.post("/api/v1/onboarding/account/create", json=account)
            assert response.status_code == 200, response.text
        health = await _healthz(base)
        # The six stage events and the first mail check (on by default in a real Portal).
        assert health is not None and health["outbox"]["pending"] == 7
        process.kill()

        await ops.start()
        process.start()
        await wait_until(lambda: _drained(base), timeout=20, interval=0.1)
    finally:
        process.stop()
        await ops.stop()
    events = stored_events(tmp_path / "ops.db")
    # Ops took the Portal's own mail.checked as it takes every event.
    assert [event_type for _, _, event_type in events] == [*HAPPY, "mail.checked"]
    assert len({event_id for event_id, _, _ in events}) == 7
    assert "Sup3r-secret-pw!" not in log.read_text(errors="replace")


async def _up(base: str) -> bool:
    return await _healthz(base) is not None


async def _drained(base: str) -> bool:
    health = await _healthz(base)
    return health is not None and health["outbox"]["pending"] == 0
