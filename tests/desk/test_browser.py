"""The Desk in a real browser: Debian's Chromium driven by Playwright, against Ops under a
real uvicorn on 127.0.0.1. Never skipped: scripts/test installs Chromium when missing."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from tests.desk.harness import XSS, desk_ops
from tests.support.apps import OpsServer
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver


def count(page: Page, stage: str) -> Locator:
    return page.locator(f'[data-stage="{stage}"] .funnel-count')


async def test_desk_live_in_chromium(browser: Browser, tmp_path: Path) -> None:
    server = await desk_ops(tmp_path)
    dialogs: list[str] = []
    errors: list[str] = []
    context = await browser.new_context(locale="pt-PT", viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.on("pageerror", lambda error: errors.append(str(error)))
        fetched: list[str] = []  # the dashboard's REST fetches (it refetches on reset only)
        page.on("request", lambda request: fetched.append(request.url))
        base = server.base_url
        api = httpx.AsyncClient(
            base_url=base, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
        )

        # A stranger is sent to the login page; a name and password log in and come back.
        await login(page, base)
        await expect(page.locator("h2").first).to_have_text("Funil de adesão")
        status = page.locator("[data-live-status]")
        await expect(status).to_have_attribute("data-state", "live", timeout=WAIT)
        await expect(count(page, "started")).to_have_text("0")

        # Events posted to Ops show up without a reload: counts and active sessions.
        await deliver(api, "onboarding.started", "s1", domain="loja-um.pt")
        await deliver(api, "onboarding.started", "s2", domain="loja-dois.pt")
        await deliver(api, "domain.validated", "s1", domain="loja-um.pt")
        await expect(count(page, "started")).to_have_text("2", timeout=WAIT)
        await expect(count(page, "domain_validated")).to_have_text("1", timeout=WAIT)
        rows = page.locator("[data-active] tr[data-session-id]")
        await expect(rows).to_have_count(2, timeout=WAIT)
        await expect(page.locator('tr[data-session-id="s1"] td').nth(1)).to_have_text(
            "Domínio validado"
        )

        # Hostile text in the domain and the data is shown as text and runs nothing.
        await deliver(api, "onboarding.started", "xss", domain=XSS, note=XSS)
        await deliver(api, "account.created", "xss", domain=XSS, note=XSS)
        xss_row = page.locator('tr[data-session-id="xss"] a')
        await expect(xss_row).to_have_text(XSS, timeout=WAIT)
        ticket_row = page.locator("[data-recent-tickets] tr[data-ticket-id]")
        await expect(ticket_row).to_have_count(1, timeout=WAIT)
        assert await page.locator("img").count() == 0

        # The ticket page: domain, tags, timeline; new entries appear live.
        listing = (await api.get("/api/v1/desk/tickets", params={"session_id": "xss"})).json()
        ticket_id = listing["tickets"][0]["id"]
        ticket = await context.new_page()
        ticket.on("dialog", lambda dialog: dialogs.append(dialog.message))
        ticket.on("pageerror", lambda error: errors.append(str(error)))
        await ticket.goto(f"{base}/tickets/{ticket_id}")
        await expect(ticket.locator("[data-domain]")).to_have_text(XSS, timeout=WAIT)
        entries = ticket.locator("[data-timeline] li.entry")
        await expect(entries).to_have_count(2)
        # A sentence, the raw data (with the hostile note) behind the "details" toggle.
        await expect(entries.nth(0).locator("[data-sentence]")).to_have_text(
            f"Começou a adesão de {XSS}."
        )
        await expect(entries.nth(0).locator("details pre")).to_contain_text(f'"note": "{XSS}"')
        await expect(ticket.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await deliver(api, "infra.synced", "xss", domain=XSS)
        await expect(entries).to_have_count(3, timeout=WAIT)
        await deliver(api, "onboarding.completed", "xss", domain=XSS)
        await expect(ticket.locator(".tag-ready")).to_have_text("pronta para Ops", timeout=WAIT)
        await expect(ticket.locator(".tag-ready")).to_have_attribute("data-tag", "ready_for_ops")
        await expect(ticket.locator('[data-timeline] li[data-kind="note"]')).to_have_count(1)
        assert await ticket.locator("img").count() == 0
        await ticket.screenshot(path=str(ARTIFACTS / "desk-ticket.png"), full_page=True)

        # The session page filters its timeline by type and grows live.
        await ticket.goto(f"{base}/sessions/s1")
        session_entries = ticket.locator("[data-timeline] li.entry")
        await expect(session_entries).to_have_count(2, timeout=WAIT)
        await ticket.select_option("[data-event-filter]", "domain.validated")
        await expect(session_entries).to_have_count(1)
        await ticket.select_option("[data-event-filter]", "")
        await expect(ticket.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await deliver(api, "dns.applied", "s1", domain="loja-um.pt")
        await expect(session_entries).to_have_count(3, timeout=WAIT)

        # The tickets list filters by tag through its plain GET form.
        await ticket.goto(f"{base}/tickets?tag=ready_for_ops")
        await expect(ticket.locator("[data-tickets] tr[data-ticket-id]")).to_have_count(
            1, timeout=WAIT
        )
        await ticket.goto(f"{base}/tickets?tag=onboarding_failed")
        await expect(ticket.locator("[data-tickets] .muted")).to_have_text("Não há pedidos.")
        await ticket.close()

        # Drop the connection: Ops goes away; events arrive meanwhile (through another
        # Ops on the same database); when Ops is back the Desk catches up from its last id.
        refetches = sum("/api/v1/onboard/funnel" in url for url in fetched)
        await server.stop()
        await expect(status).to_have_attribute("data-state", "reconnecting", timeout=WAIT)
        side = OpsServer(db_path=server.db_path, config=server.config)
        await side.start()
        async with httpx.AsyncClient(
            base_url=side.base_url, headers={"authorization": f"Bearer {TOKEN}"}
        ) as side_api:
            await deliver(side_api, "onboarding.started", "missed", domain="perdido.pt")
            await deliver(side_api, "domain.validated", "missed", domain="perdido.pt")
        await side.stop()
        await expect(page.locator('tr[data-session-id="missed"]')).to_have_count(0)
        await server.start()
        await expect(status).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(page.locator('tr[data-session-id="missed"] a')).to_have_text(
            "perdido.pt", timeout=WAIT
        )
        await expect(count(page, "started")).to_have_text("4", timeout=WAIT)
        await expect(count(page, "domain_validated")).to_have_text("3", timeout=WAIT)
        await expect(count(page, "dns_applied")).to_have_text("2", timeout=WAIT)
        # It reconnected and caught up by replay after its last id: a connection without
        # one would have got a reset, and the dashboard refetches the funnel on a reset.
        assert sum("/api/v1/stream" in url for url in fetched) >= 2
        assert sum("/api/v1/onboard/funnel" in url for url in fetched) == refetches
        await page.screenshot(path=str(ARTIFACTS / "desk-dashboard.png"), full_page=True)

        assert dialogs == []
        assert errors == []
        await api.aclose()
    finally:
        await context.close()
        await server.stop()
