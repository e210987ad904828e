"""Issue 26, finding 7, the Portal's part: its /metrics Bearer check is throttled like
Ops' (10 failures per address in 10 minutes, then 429 whatever the address sends), and
the sandbox's /sandbox/* provider endpoints exist only when the providers are the
sandbox.

Before the fix the 11th and every later wrong token got 401 (never 429), and a Portal
with live providers built with a sandbox answered /sandbox/* (a fake Cloudflare that
takes any write)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from tests.portal.conftest import make_settings, running_portal
from tests.support.runner import in_process
from vm112_portal.app import create_app
from vm112_portal.providers.sandbox import Sandbox

TOKEN = "portal-metrics-token-0123456789abcdef"
WRONG = {"authorization": "Bearer not-the-metrics-token-0123456789"}
RIGHT = {"authorization": f"Bearer {TOKEN}"}


async def test_metrics_bearer_failures_are_throttled_per_address(tmp_path: Path) -> None:
    async with running_portal(make_settings(tmp_path, metrics_token=TOKEN)) as portal:
        app = portal.app

        def client(host: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(host, 40000))
            return httpx.AsyncClient(transport=transport, base_url="http://portal.test")

        async with client("203.0.113.9") as guesser, client("203.0.113.10") as operator:
            statuses = [
                (await guesser.get("/metrics", headers=WRONG)).status_code for _ in range(12)
            ]
            assert statuses == [401] * 10 + [429] * 2
            throttled = await guesser.get("/metrics", headers=RIGHT)
            assert throttled.status_code == 429
            assert int(throttled.headers["retry-after"]) > 0
            assert throttled.json()["ok"] is False and "too many" in throttled.json()["error"]
            # Another address is not affected; its success forgives only itself.
            assert (await operator.get("/metrics", headers=RIGHT)).status_code == 200
            assert (await guesser.get("/metrics", headers=RIGHT)).status_code == 429
            # Each refusal is counted for Prometheus, by kind (the alert rules read them).
            body = (await operator.get("/metrics", headers=RIGHT)).text
            assert 'portal_auth_events_total{event="bearer_failed"} 10.0' in body
            assert 'portal_auth_events_total{event="bearer_throttled"} 4.0' in body


async def test_the_sandbox_endpoints_exist_only_with_sandbox_providers(tmp_path: Path) -> None:
    live = replace(
        make_settings(tmp_path),
        providers="live",
        cloudflare_base_url="https://api.cloudflare.com/client/v4",
        carbonio_admin_url="https://mail.example.com:7071/service/admin/soap",
    )
    assert not live.sandbox
    app = create_app(live, sandbox=Sandbox(admin_user="admin@x.pt", admin_password="pw"))
    async with in_process(app, base_url="http://portal.test") as (_, client):
        zones = await client.get(
            "/sandbox/cloudflare/client/v4/zones",
            headers={"authorization": "Bearer anything"},
        )
        assert zones.status_code == 404
        soap = await client.post("/sandbox/carbonio/service/admin/soap", content=b"<x/>")
        assert soap.status_code in (404, 405)
    async with running_portal(make_settings(tmp_path / "sandbox")) as portal:
        assert (await portal.client.get("/sandbox/cloudflare/client/v4/zones")).status_code != 404
