"""The Desk on a phone (390 x 844) and from the keyboard, in Debian's Chromium: no page
scrolls sideways, the header's logout is whole, the current page is marked in the
navigation, a 404 shows one message and no empty cards, a session links to its ticket,
the active sessions show the server's states (stuck first) and the funnel card the stuck
total. Screenshots: test-artifacts/dashboard-390.png, dashboard.png (desktop),
tickets-390.png and session-390.png."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.desk.harness import desk_ops
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver

PHONE: ViewportSize = {"width": 390, "height": 844}


async def layout(page: Page) -> dict[str, Any]:
    """The page's width against the viewport's, and the logout button's box."""
    figures: dict[str, Any] = await page.evaluate(
        """() => {
          const root = document.documentElement;
          const logout = document.querySelector('.logout button');
          const box = logout ? logout.getBoundingClientRect() : null;
          // The outermost elements that stick out on the right, to say what to fix.
          const wide = [];
          for (const node of document.querySelectorAll('body *')) {
            const right = node.getBoundingClientRect().right;
            const parent = node.parentElement.getBoundingClientRect().right;
            if (right > root.clientWidth + 0.5 && parent <= root.clientWidth + 0.5) {
              wide.push(`${node.tagName.toLowerCase()}.${node.className}: ${Math.round(right)}`);
            }
          }
          return {
            wide: wide.slice(0, 8),
            scrollWidth: root.scrollWidth,
            clientWidth: root.clientWidth,
            logout: box && {left: box.left, right: box.right, top: box.top,
                            bottom: box.bottom},
          };
        }"""
    )
    return figures


async def assert_fits(page: Page, where: str) -> None:
    figures = await layout(page)
    assert figures["scrollWidth"] <= figures["clientWidth"], (where, figures)
    box = figures["logout"]
    assert box is not None, where
    assert box["left"] >= 0 and box["right"] <= PHONE["width"], (where, box)
    assert box["top"] >= 0 and box["bottom"] <= PHONE["height"], (where, box)


async def test_every_page_fits_a_phone_and_works_from_the_keyboard(
    browser: Browser, tmp_path: Path
) -> None:
    server = await desk_ops(tmp_path)
    errors: list[str] = []
    context = await browser.new_context(locale="en-GB", viewport=PHONE)
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    try:
        now = time.time()
        long_domain = "uma-loja-com-um-nome-muito-comprido-para-um-telefone.example.pt"
        await deliver(api, "onboarding.started", "moving", domain="loja-a.pt", at=now - 60)
        await deliver(api, "onboarding.started", "stuck", domain=long_domain, at=now - 3000)
        await deliver(api, "domain.validated", "stuck", domain=long_domain, at=now - 2400)
        await deliver(api, "onboarding.started", "broke", domain="falha.pt", at=now - 900)
        await deliver(
            api, "onboarding.failed", "broke", domain="falha.pt", at=now - 800, code="x:1"
        )
        await deliver(api, "onboarding.started", "done", domain="feita.pt", at=now - 700)
        await deliver(api, "onboarding.completed", "done", domain="feita.pt", at=now - 600)
        listing = (await api.get("/api/v1/desk/tickets", params={"session_id": "broke"})).json()
        ticket_id = listing["tickets"][0]["id"]

        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        base = server.base_url
        await login(page, base)

        # The dashboard: states from the server, stuck first; the stuck total.
        rows = page.locator("[data-active] tr[data-session-id]")
        await expect(rows).to_have_count(2, timeout=WAIT)
        await expect(rows.nth(0)).to_have_attribute("data-session-id", "stuck")
        await expect(rows.nth(0).locator("[data-state]")).to_have_text("stuck")
        await expect(rows.nth(1).locator("[data-state]")).to_have_text("moving")
        await expect(page.locator("[data-stuck-total]")).to_have_text("Stuck now: 1")
        await expect(page.locator('[data-figure="started"]')).to_have_text(
            "Started 4 (+4 vs 0 in the previous 48 h)"
        )
        await expect(page.locator('.top nav a[aria-current="page"]')).to_have_text("Dashboard")
        await assert_fits(page, "dashboard")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-390.png"), full_page=True)

        # From the keyboard: skip link first, then the header's links and the search box,
        # each with a visible focus ring.
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent")
        assert focused == "Skip to content"
        order = []
        for _ in range(5):
            await page.keyboard.press("Tab")
            order.append(
                await page.evaluate(
                    """() => {
                      const a = document.activeElement;
                      const style = getComputedStyle(a);
                      return [a.getAttribute('href') || a.getAttribute('name') ||
                              a.textContent.trim(), style.outlineStyle !== 'none' &&
                              parseFloat(style.outlineWidth) >= 2];
                    }"""
                )
            )
        assert order == [
            ["/", True],
            ["/", True],
            ["/tickets", True],
            ["q", True],
            ["Log out", True],
        ], order
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.type("falha")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{base}/search?q=falha")
        await expect(page.locator("[data-search-results] a").first).to_have_text(
            "falha.pt", timeout=WAIT
        )
        await assert_fits(page, "search")

        # The ticket list: marked in the navigation, its tags in words.
        await page.goto(f"{base}/tickets")
        await expect(page.locator("[data-tickets] tr[data-ticket-id]")).to_have_count(
            1, timeout=WAIT
        )
        await expect(page.locator('.top nav a[aria-current="page"]')).to_have_text("Tickets")
        await expect(page.locator('[data-tag="onboarding_failed"]')).to_have_text(
            "onboarding failed"
        )
        await assert_fits(page, "tickets")
        await page.screenshot(path=str(ARTIFACTS / "tickets-390.png"), full_page=True)

        # A session page links to its ticket; dates say UTC; event types in words.
        await page.goto(f"{base}/sessions/broke")
        link = page.locator("[data-ticket-link]")
        await expect(link).to_have_attribute("href", f"/tickets/{ticket_id}", timeout=WAIT)
        await expect(page.locator("[data-timeline] time").first).to_contain_text(" UTC")
        await expect(page.locator("[data-event-filter] option").nth(1)).to_have_text(
            "Onboarding started"
        )
        await assert_fits(page, "session")
        await page.screenshot(path=str(ARTIFACTS / "session-390.png"), full_page=True)
        await link.click()
        await page.wait_for_url(f"{base}/tickets/{ticket_id}")
        await expect(page.locator("[data-domain]")).to_have_text("falha.pt", timeout=WAIT)
        await assert_fits(page, "ticket")

        # The drill-down list of the stuck count.
        await page.goto(f"{base}/")
        await page.locator('[data-split="domain_validated"] [data-state="stuck"]').click()
        await expect(page.locator("[data-cohort] tr[data-session-id]")).to_have_count(
            1, timeout=WAIT
        )
        await assert_fits(page, "drill-down")

        # Unknown session and ticket: one card with the message, no empty cards.
        for path, message in (
            ("/sessions/nobody", "This session does not exist."),
            (f"/tickets/{ticket_id + 100}", "This ticket does not exist."),
        ):
            await page.goto(base + path)
            await expect(page.locator("[data-not-found]")).to_have_text(message, timeout=WAIT)
            await expect(page.locator("main .card")).to_have_count(1)
            await assert_fits(page, path)

        # The dashboard on a desktop.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto(f"{base}/")
        await expect(page.locator("[data-stuck-total]")).to_have_text("Stuck now: 1", timeout=WAIT)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
