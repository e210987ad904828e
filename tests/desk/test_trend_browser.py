"""The conversion trend in Debian's Chromium at 1280 and 390 px, in English and pt-PT:
axes with dates and values, a small hour still visible beside a big one, and its figures
as a table reached and opened from the keyboard. Screenshots:
test-artifacts/trend-{lang}-{width}.png."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.desk.harness import browser_desk
from tests.support.browser import ARTIFACTS, WAIT, login, tab_to
from tests.support.signer import deliver

HEADERS = {
    "en-GB": [
        "Period",
        "Started",
        "Completed",
        "Failed",
        "Conversion",
        "Refused (not in conversion)",
        "Open",
    ],
    "pt-PT": [
        "Período",
        "Iniciadas",
        "Concluídas",
        "Falhadas",
        "Conversão",
        "Recusadas (fora da conversão)",
        "Em aberto",
    ],
}
SHOW = {"en-GB": "Show the figures as a table", "pt-PT": "Mostrar os valores numa tabela"}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_the_trend_has_axes_and_its_table_opens_by_keyboard(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page = desk.api, desk.page
        now = time.time()
        hour = now - now % 3600
        # Five hours ago: 30 sessions, 12 completed; two hours ago: one that completed.
        for index in range(30):
            at = hour - 5 * 3600 + 60 + index
            await deliver(api, "onboarding.started", f"big{index}", domain=f"b{index}.pt", at=at)
            if index < 12:
                await deliver(
                    api, "onboarding.completed", f"big{index}", domain=f"b{index}.pt", at=at + 30
                )
        await deliver(api, "onboarding.started", "small", domain="s.pt", at=hour - 2 * 3600 + 60)
        await deliver(api, "onboarding.completed", "small", domain="s.pt", at=hour - 2 * 3600 + 90)
        await login(page, desk.server.base_url, "/?hours=24")
        chart = page.locator("[data-trend-chart]")
        await expect(chart).to_be_visible(timeout=WAIT)
        # Axes: counts 0 and 50 (30 rounded up), 0-100 %, dates under the bars.
        counts = await chart.locator(".trend-axis-count").all_text_contents()
        assert counts == ["0", "25", "50"]
        rates = await chart.locator(".trend-axis-rate").all_text_contents()
        assert rates == ["0 %", "50 %", "100 %"]
        assert 2 <= await chart.locator("[data-axis-date]").count() <= 8
        small = chart.locator("g.trend-bar").nth(21)  # hour - 2 h of 24 periods
        big = chart.locator("g.trend-bar").nth(18)
        small_box = await small.locator("rect.entered").bounding_box()
        big_box = await big.locator("rect.entered").bounding_box()
        assert small_box is not None and big_box is not None
        assert small_box["height"] >= 2  # one session among 30 is still a visible bar
        assert big_box["height"] > 20 * small_box["height"] / 2
        assert await chart.locator("circle.trend-dot").count() == 2  # conversion, 2 periods
        await page.screenshot(path=str(ARTIFACTS / f"trend-{locale}-{width}.png"), full_page=True)
        await page.locator(".trend-card").screenshot(
            path=str(ARTIFACTS / f"trend-card-{locale}-{width}.png")
        )

        # From the keyboard: Tab to the button, Enter, then Tab into the table's region.
        toggle = page.locator("[data-trend-toggle]")
        await expect(toggle).to_have_text(SHOW[locale])
        await tab_to(page, toggle, "the trend's table button")
        await page.keyboard.press("Enter")
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        region = page.locator("[data-trend-region]")
        await expect(region).to_be_visible()
        await page.keyboard.press("Tab")
        assert await region.evaluate("node => node === document.activeElement")
        table = page.locator("[data-trend-table]")
        heads = await table.locator("thead th").all_text_contents()
        assert heads == HEADERS[locale]
        rows = table.locator("tbody tr")
        await expect(rows).to_have_count(24)
        cells = await rows.nth(18).locator("td").all_text_contents()
        assert cells[:4] == ["30", "12", "0", "40 %"]
        cells = await rows.nth(21).locator("td").all_text_contents()
        assert cells[:4] == ["1", "1", "0", "100 %"]
        await region.screenshot(path=str(ARTIFACTS / f"trend-table-{locale}-{width}.png"))
        assert await desk.fits()
        assert desk.errors == []
