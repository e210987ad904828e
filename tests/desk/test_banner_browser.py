"""The banner in a real browser (Debian's Chromium, Playwright): it appears on the Desk's
pages when the failure-spike condition holds, as text with links to the sessions, and
disappears when it clears, live, without a reload."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.desk.harness import XSS, desk_ops
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver


async def test_banner_shows_a_failure_spike_and_clears(browser: Browser, tmp_path: Path) -> None:
    server = await desk_ops(tmp_path)
    errors: list[str] = []
    dialogs: list[str] = []
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await login(page, server.base_url)
        banner = page.locator("[data-banner]")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await expect(banner).to_be_hidden()
        tickets = await context.new_page()
        tickets.on("pageerror", lambda error: errors.append(str(error)))
        await tickets.goto(server.base_url + "/tickets")
        await expect(tickets.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )

        # Five onboardings start, three fail within 15 minutes: 60% > 50%, 5 started.
        for index in range(5):
            await deliver(api, "onboarding.started", f"b{index}", domain=f"loja{index}.pt")
        for index, domain in enumerate(["loja0.pt", "loja1.pt", XSS]):
            await deliver(
                api,
                "onboarding.failed",
                f"b{index}",
                domain=domain,
                stage="account_created",
                code="carbonio:account.DOMAIN_EXISTS",
                reason=XSS,
            )
        await expect(banner).to_be_visible(timeout=WAIT)
        item = banner.locator('[data-condition="failure_spike"]')
        await expect(item.locator(".banner-text")).to_have_text(
            "Failure spike: 3 failures for 5 sessions started in the last 15 min.",
            timeout=WAIT,
        )
        links = item.locator(".banner-sessions a")
        await expect(links).to_have_count(3)
        await expect(links.nth(0)).to_have_text(XSS)  # the newest failure first, as text
        assert await links.nth(0).get_attribute("href") == "/sessions/b2"
        assert await page.locator("img").count() == 0
        # On every page: the tickets list shows it too.
        await expect(tickets.locator("[data-banner] [data-condition]")).to_have_count(
            1, timeout=WAIT
        )
        await page.screenshot(path=str(ARTIFACTS / "desk-banner.png"), full_page=True)

        # Three more onboardings start: 3 of 8 is under 50%, the banner goes away.
        for index in range(5, 8):
            await deliver(api, "onboarding.started", f"b{index}", domain=f"loja{index}.pt")
        await expect(banner).to_be_hidden(timeout=WAIT)
        await expect(tickets.locator("[data-banner]")).to_be_hidden(timeout=WAIT)
        await expect(banner.locator("[data-condition]")).to_have_count(0)

        # A link opens the session concerned.
        for index in range(8, 10):
            await deliver(
                api,
                "onboarding.failed",
                f"b{index - 5}",
                domain=f"loja{index - 5}.pt",
                stage="dns_applied",
            )
        await expect(banner).to_be_visible(timeout=WAIT)
        await banner.locator('.banner-sessions a[href="/sessions/b4"]').click()
        await page.wait_for_url(server.base_url + "/sessions/b4")
        await expect(page.locator("[data-banner] [data-condition]")).to_have_count(1, timeout=WAIT)
        assert errors == []
        assert dialogs == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
