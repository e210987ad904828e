"""Issue 12's Desk answers in Debian's Chromium (Playwright), against Ops under a real
uvicorn on 127.0.0.1, one browser, every wait bounded:

- a page opened while logged out (the search, with its query) comes back after login;
- search from the header box, Unicode and punycode forms: the session and its ticket,
  new matches appearing live; the CSV link downloads the same results with the session;
- sessions made stuck with OPS_STUCK_MIN_MINUTES and event times in the past: the stage's
  stuck count on the dashboard opens exactly those sessions;
- a failure with a hostile reason and code shows as text in the failure-code table, live,
  nothing injected; the conversion chart is drawn and its figures follow new events.

Screenshots: test-artifacts/search.png, drilldown-list.png and failure-codes.png.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx
from playwright.async_api import Browser, Page, expect

from tests.desk.harness import FAST
from tests.support.apps import OpsServer
from tests.support.browser import ARTIFACTS, WAIT
from tests.support.credentials import PASSWORD, TOKEN
from tests.support.poll import wait_until
from tests.support.signer import deliver

MINUTE = 60.0
STUCK_MIN_MINUTES = 5
HOSTILE_REASON = "<img src=x onerror=alert(1)></script><script>alert(2)</script>\u202egnp.exe"
HOSTILE_CODE = "portal:<svg onload=alert(3)>"
# Anything a rendered payload would have added; the trend's own chart is the one SVG.
INJECTED = "img, svg:not([data-trend-chart]), iframe, script:not([src]), [onerror], [onload]"


async def entered(page: Page) -> int:
    """Sessions started in the window, from the conversion chart's table."""
    cells = page.locator("[data-trend-table] tbody tr td:nth-child(2)")
    return sum(int(text) for text in await cells.all_text_contents())


async def charted(page: Page, sessions: int) -> bool:
    return await entered(page) == sessions


async def domains(page: Page, rows: str) -> list[str]:
    return await page.locator(f"{rows} tr[data-session-id] td:first-child a").all_text_contents()


async def download(page: Page, link: str) -> list[list[str]]:
    """Fetch a Download CSV link with the page's own session cookie."""
    href = await page.locator(link).get_attribute("href")
    assert href is not None
    response = await page.request.get(urljoin(page.url, href))
    assert response.status == 200, await response.text()
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(await response.text())))


async def test_desk_answers_in_chromium(browser: Browser, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    server = OpsServer(
        db_path=tmp_path / "ops.db",
        config=dataclasses.replace(FAST, retry_ms=300),
        accounts=("ana",),
        settings={"stuck_min_minutes": STUCK_MIN_MINUTES},
    )
    await server.start()
    base = server.base_url
    api = httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        now = time.time()
        # Stuck at "started": idle 40 and 50 minutes, past the 5-minute floor and the
        # step's pace (one session took it in a minute).
        await deliver(api, "onboarding.started", "st-a", at=now - 40 * MINUTE, domain="stuck-a.pt")
        await deliver(api, "onboarding.started", "st-b", at=now - 50 * MINUTE, domain="stuck-b.pt")
        # Moving at "started", and stuck a stage further: neither is in that list.
        await deliver(api, "onboarding.started", "fresh", at=now - MINUTE, domain="fresh.pt")
        await deliver(api, "onboarding.started", "dv", at=now - 61 * MINUTE, domain="further.pt")
        await deliver(api, "domain.validated", "dv", at=now - 60 * MINUTE, domain="further.pt")
        # The customer on the phone, with a ticket.
        await deliver(api, "onboarding.started", "mu", at=now - 3 * MINUTE, domain="münchen.de")
        await deliver(api, "account.created", "mu", at=now - 2 * MINUTE, domain="münchen.de")
        listing = (await api.get("/api/v1/desk/tickets", params={"session_id": "mu"})).json()
        ticket = listing["tickets"][0]["id"]

        page = await context.new_page()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.on("pageerror", lambda error: errors.append(str(error)))

        # A search opened while logged out comes back, query included, after login.
        wanted = f"{base}/search?q={quote('MÜNCHEN')}"
        await page.goto(wanted)
        assert page.url.startswith(f"{base}/login?next=")
        await page.fill("input[name=name]", "ana")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(wanted, timeout=WAIT)
        await expect(page.locator("[data-search-results] tr[data-session-id]")).to_have_count(1)
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )

        # From the header box, both forms of the name: the session and its ticket.
        for typed in ("München", "xn--mnchen-3ya"):
            await page.fill("[data-search-input]", typed)
            await page.press("[data-search-input]", "Enter")
            await page.wait_for_url(f"{base}/search?q={quote(typed)}", timeout=WAIT)
            row = page.locator('[data-search-results] tr[data-session-id="mu"]')
            await expect(row.locator("td").first).to_have_text("münchen.de", timeout=WAIT)
            await expect(row.locator(f'a[href="/tickets/{ticket}"]')).to_have_text(f"#{ticket}")
            assert await domains(page, "[data-search-results]") == ["münchen.de"]
        # The Unicode search again: a new matching session appears without a reload.
        await page.fill("[data-search-input]", "München")
        await page.press("[data-search-input]", "Enter")
        await page.wait_for_url(f"{base}/search?q={quote('München')}", timeout=WAIT)
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await expect(page.locator("[data-search-results] tr[data-session-id]")).to_have_count(1)
        await deliver(api, "onboarding.started", "mu2", domain="München-Neu.de")
        await expect(page.locator('tr[data-session-id="mu2"] a').first).to_have_text(
            "München-Neu.de", timeout=WAIT
        )
        rows = await download(page, "[data-search-csv]")
        assert sorted(row[:2] for row in rows[1:]) == [
            ["mu", "münchen.de"],
            ["mu2", "München-Neu.de"],
        ]
        await page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

        # The dashboard: the stage's stuck count opens exactly its stuck sessions.
        await page.click("a.brand")
        await page.wait_for_url(f"{base}/", timeout=WAIT)
        stuck = page.locator('[data-split="started"] a[data-state="stuck"]')
        await expect(stuck).to_have_text("2 stuck", timeout=WAIT)
        await expect(page.locator('[data-split="started"] a[data-state="moving"]')).to_have_text(
            "2 moving"  # fresh.pt and the München-Neu.de just started
        )
        await stuck.click()
        await page.wait_for_url(
            f"{base}/funnel/sessions?hours=48&stage=started&state=stuck", timeout=WAIT
        )
        await expect(page.locator("[data-cohort] tr[data-session-id]")).to_have_count(
            2, timeout=WAIT
        )
        assert await domains(page, "[data-cohort]") == ["stuck-a.pt", "stuck-b.pt"]
        await expect(page.locator("[data-cohort-total]")).to_have_text("2 sessions")
        rows = await download(page, "[data-cohort-csv]")
        assert [row[1] for row in rows] == ["domain", "stuck-a.pt", "stuck-b.pt"]
        await page.screenshot(path=str(ARTIFACTS / "drilldown-list.png"), full_page=True)

        # Back on the dashboard: the chart, then a hostile failure arriving live.
        await page.go_back()
        await page.wait_for_url(f"{base}/", timeout=WAIT)
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await expect(page.locator("svg[data-trend-chart]")).to_be_visible(timeout=WAIT)
        await wait_until(lambda: charted(page, 6), timeout=10, what="6 sessions charted")
        await expect(page.locator("[data-failures]")).to_have_text(
            "No failures in this window.", timeout=WAIT
        )
        await deliver(api, "onboarding.started", "evil", domain="hostile.pt")
        await deliver(
            api,
            "onboarding.failed",
            "evil",
            domain="hostile.pt",
            reason=HOSTILE_REASON,
            code=HOSTILE_CODE,
        )
        failure = page.locator("[data-failures] tr[data-failure-code]")
        await expect(failure).to_have_count(1, timeout=WAIT)
        await expect(failure.locator("td").nth(1)).to_have_text(HOSTILE_CODE)
        # As text; the right-to-left override shown as its code point.
        await expect(failure.locator("[data-reason]")).to_have_text(
            HOSTILE_REASON.replace("\u202e", "[U+202E]")
        )
        await expect(failure.locator("a")).to_have_text("1")
        await wait_until(lambda: charted(page, 7), timeout=10, what="the chart followed")
        assert await page.locator(INJECTED).count() == 0
        await page.locator(".failures-card").screenshot(path=str(ARTIFACTS / "failure-codes.png"))
        assert await page.locator("svg[data-trend-chart]").count() == 1
        # The count opens that code's sessions: the heading names the code, as text.
        await failure.locator("a").click()
        await page.wait_for_url("**/funnel/sessions?**", timeout=WAIT)
        assert parse_qs(urlsplit(page.url).query)["code"] == [HOSTILE_CODE]
        await expect(page.locator("[data-cohort-title]")).to_contain_text(
            f"with code {HOSTILE_CODE}", timeout=WAIT
        )
        listed = page.locator("[data-cohort] tr[data-session-id]")
        await expect(listed).to_have_count(1, timeout=WAIT)
        await expect(listed).to_have_attribute("data-session-id", "evil")
        await expect(page.locator("[data-cohort-total]")).to_have_text("1 session")
        csv_href = await page.locator("[data-cohort-csv]").get_attribute("href")
        assert csv_href is not None
        assert parse_qs(urlsplit(csv_href).query)["code"] == [HOSTILE_CODE]
        assert await page.locator(INJECTED).count() == 0
        assert dialogs == []
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
