"""Taking a stuck session in Debian's Chromium, at 1280 and 390 px, in English and pt-PT:
the dashboard's "Stuck now" opens the stuck list, each row says why (the step it waits
on, idle against the step's pace) and who to contact, and "Take it" gives the agent a
follow-up ticket. Screenshots: test-artifacts/stuck-{lang}-{width}.png."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.desk.harness import browser_desk
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.signer import deliver

TEXTS = {
    "en-GB": {
        "stuck": "Stuck now: 1",
        "why": "Waits on DNS records, idle 40 min",
        "take": "Take it",
        "done": "Ticket #1 (parada.pt) is yours: open it",
    },
    "pt-PT": {
        "stuck": "Paradas agora: 1",
        "why": "Aguarda Registos DNS, parada há 40 min",
        "take": "Assumir",
        "done": "O pedido #1 (parada.pt) é seu: abrir",
    },
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_an_agent_takes_a_stuck_session_from_the_dashboard(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    texts = TEXTS[locale]
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page = desk.api, desk.page
        now = time.time()
        await deliver(api, "onboarding.started", "stuck", domain="parada.pt", at=now - 3000)
        await deliver(api, "domain.validated", "stuck", domain="parada.pt", at=now - 2400)
        await deliver(api, "onboarding.started", "moving", domain="anda.pt", at=now - 60)
        await login(page, desk.server.base_url)
        stuck = page.locator("a[data-stuck-total]")
        await expect(stuck).to_have_text(texts["stuck"], timeout=WAIT)
        await stuck.click()
        await page.wait_for_url("**/funnel/sessions?**state=stuck")
        row = page.locator('tr[data-session-id="stuck"]')
        await expect(row).to_be_visible(timeout=WAIT)
        await expect(page.locator("tr[data-session-id]")).to_have_count(1)
        await expect(row.locator("[data-why]")).to_contain_text(texts["why"], timeout=WAIT)
        await page.screenshot(path=str(ARTIFACTS / f"stuck-{locale}-{width}.png"), full_page=True)
        take = row.locator("[data-take]")
        await expect(take).to_have_text(texts["take"])
        await take.click()
        taken = page.locator("[data-taken]")
        await expect(taken).to_have_text(texts["done"], timeout=WAIT)
        await expect(row.locator('a[href="/tickets/1"]')).to_be_visible(timeout=WAIT)
        await page.screenshot(
            path=str(ARTIFACTS / f"stuck-{locale}-{width}-taken.png"), full_page=True
        )
        await taken.click()
        await page.wait_for_url(desk.server.base_url + "/tickets/1")
        await expect(page.locator("[data-assignee]")).to_have_text("ana", timeout=WAIT)
        ticket = (await api.get("/api/v1/desk/tickets/1")).json()
        assert (ticket["kind"], ticket["queue"], ticket["assignee"]) == (
            "follow_up",
            "needs_action",
            "ana",
        )
        assert await desk.fits()
        assert desk.errors == []
