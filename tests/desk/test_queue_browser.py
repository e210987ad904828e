"""The ticket list as a work queue in Debian's Chromium, at 1280 and 390 px, in English
and pt-PT: it opens on "needs action" (failures, not the handovers), with each queue's
count, a priority and an age per row; selecting the page and resolving it is one action
that empties the queue. Screenshots: test-artifacts/queue-{lang}-{width}.png and
queue-{lang}-{width}-resolved.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.desk.harness import XSS, browser_desk
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.signer import deliver

TEXTS = {
    "en-GB": {
        "needs": "Needs action (3)",
        "needs_after": "Needs action (0)",
        "handover": "Handover (2)",
        "all": "All tickets (5)",
        "high": "high",
        "selected": "3 tickets selected",
        "done": "3 tickets changed.",
        "title": "Tickets",
    },
    "pt-PT": {
        "needs": "Requer ação (3)",
        "needs_after": "Requer ação (0)",
        "handover": "Passagem a Ops (2)",
        "all": "Todos os pedidos (5)",
        "high": "alta",
        "selected": "3 pedidos selecionados",
        "done": "3 pedidos alterados.",
        "title": "Pedidos",
    },
}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_the_list_opens_on_needs_action_and_a_bulk_resolve_empties_it(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    texts = TEXTS[locale]
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page = desk.api, desk.page
        for name in ("ok1", "ok2"):
            await deliver(api, "account.created", name, domain=f"{name}.pt")
            await deliver(api, "onboarding.completed", name, domain=f"{name}.pt")
        await deliver(api, "onboarding.failed", "f1", domain="falha.pt", code="portal:timeout")
        await deliver(
            api, "onboarding.failed", "f2", domain="nome.pt", code="carbonio:account.DOMAIN_EXISTS"
        )
        await deliver(api, "onboarding.failed", "f3", domain=XSS, reason=XSS)
        await login(page, desk.server.base_url, "/tickets")
        queues = page.locator("[data-queue-tabs]")
        await expect(queues.locator('[aria-current="page"]')).to_have_text(
            texts["needs"], timeout=WAIT
        )
        await expect(queues.locator('[data-queue="handover"]')).to_have_text(texts["handover"])
        assert await page.title() == texts["title"]  # the tab title in the page's language
        await expect(queues.locator('[data-queue="all"]')).to_have_text(texts["all"])
        rows = page.locator("[data-tickets] tbody tr")
        await expect(rows).to_have_count(3)
        domains = await rows.locator("td:nth-child(3) a").all_text_contents()
        assert sorted(domains) == sorted(["falha.pt", "nome.pt", XSS])  # text, not markup
        assert await page.locator("img").count() == 0
        fault = page.locator('[data-ticket-session="f1"] [data-priority]')
        await expect(fault).to_have_attribute("data-priority", "high")
        await expect(fault).to_have_text(texts["high"])
        customer = page.locator('[data-ticket-session="f2"] [data-priority]')
        await expect(customer).to_have_attribute("data-priority", "normal")
        await expect(page.locator('[data-ticket-session="f1"] [data-age]')).not_to_be_empty()
        await page.screenshot(path=str(ARTIFACTS / f"queue-{locale}-{width}.png"), full_page=True)
        assert await desk.fits()

        # Select the page from the keyboard, then resolve it in one action.
        await page.locator("[data-pick-all]").focus()
        await page.keyboard.press("Space")
        await expect(page.locator("[data-bulk-count]")).to_have_text(texts["selected"])
        await page.locator("[data-bulk-resolve]").click()
        await expect(page.locator("[data-bulk-status]")).to_have_text(texts["done"], timeout=WAIT)
        await expect(queues.locator('[data-queue="needs_action"]')).to_have_text(
            texts["needs_after"], timeout=WAIT
        )
        await expect(rows).to_have_count(0)
        await page.screenshot(
            path=str(ARTIFACTS / f"queue-{locale}-{width}-resolved.png"), full_page=True
        )
        for session in ("f1", "f2", "f3"):
            listing = (await api.get("/api/v1/desk/tickets", params={"session_id": session})).json()
            [ticket] = listing["tickets"]
            assert ticket["status"] == "resolved"
            detail = (await api.get(f"/api/v1/desk/tickets/{ticket['id']}")).json()
            audit = [e for e in detail["timeline"] if e["kind"] == "activity"]
            assert [(e["type"], e["to"], e["actor"]) for e in audit] == [
                ("status", "resolved", {"kind": "account", "name": "ana"})
            ]
        assert desk.errors == []
