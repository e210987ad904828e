"""axe-core (npm, tests/support/axe.py) on every Desk page in Debian's Chromium, at 1280
and 390 px, in English and pt-PT: no serious or critical violation of WCAG 2.0/2.1 A and
AA, with data that shows every part (the banner, a new failure highlighted, stuck and
failed sessions, a ticket with activity, search results). Screenshots:
test-artifacts/axe-{lang}-{width}-{page}.png."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.desk.harness import desk_ops
from tests.support.axe import axe_violations
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver


async def seed(api: httpx.AsyncClient) -> dict[str, int]:
    """A stuck session, failures (a spike: the banner shows), a completed handover with
    a manual DNS step (the breakdown's groups), a ticket with an agent's change; the
    ticket ids by session."""
    now = time.time()
    await deliver(api, "onboarding.started", "stuck", domain="parada.pt", at=now - 3000)
    await deliver(api, "domain.validated", "stuck", domain="parada.pt", at=now - 2400)
    for index in range(5):  # a failure spike: 5 of 6 started in 15 min (the banner)
        name = f"f{index}"
        await deliver(api, "onboarding.started", name, domain=f"falha{index}.pt", at=now - 300)
        await deliver(
            api,
            "onboarding.failed",
            name,
            domain=f"falha{index}.pt",
            at=now - 200,
            code="carbonio:account.DOMAIN_EXISTS",
            reason="domain exists",
            stage="account_created",
        )
    await deliver(
        api,
        "onboarding.started",
        "done",
        domain="feita.pt",
        at=now - 900,
        language="pt",
        release="1.4.0",
    )
    await deliver(api, "domain.validated", "done", domain="feita.pt", at=now - 880)
    await deliver(
        api,
        "dns.applied",
        "done",
        domain="feita.pt",
        at=now - 860,
        mode="manual",
        provider="customer",
        records=[{"type": "MX", "name": "feita.pt", "content": "mx.example.net", "priority": 10}],
        dkim={"status": "pending", "operations": ["create the DKIM key"]},
    )
    await deliver(
        api,
        "account.created",
        "done",
        domain="feita.pt",
        at=now - 840,
        account="admin@feita.pt",
        contact="admin@feita.pt",
    )
    await deliver(api, "onboarding.completed", "done", domain="feita.pt", at=now - 820)
    listing = (await api.get("/api/v1/desk/tickets", params={"limit": 200})).json()
    return {ticket["session_id"]: ticket["id"] for ticket in listing["tickets"]}


def pages(tickets: dict[str, int]) -> dict[str, str]:
    return {
        "dashboard": "/",
        "dashboard-by-provider": "/?by=previous_provider",  # "not known", the trend split
        "tickets": "/tickets",
        "tickets-all": "/tickets?queue=all",
        "ticket": f"/tickets/{tickets['done']}",
        "ticket-failed": f"/tickets/{tickets['f0']}",
        "session": "/sessions/done",
        "session-stuck": "/sessions/stuck",
        "search": "/search?q=falha",
        "stuck": "/funnel/sessions?state=stuck",
        "failed-code": "/funnel/sessions?state=failed&code=carbonio:account.DOMAIN_EXISTS",
        "breakdown-group": "/funnel/sessions?state=failed&by=dns_mode&value=manual",
        "breakdown-other": "/funnel/sessions?state=completed&by=release&group=other&top=1",
    }


async def check(page: Page, name: str, shot: str) -> list[str]:
    await expect(page.locator("[data-live-status]")).to_have_attribute(
        "data-state", "live", timeout=WAIT
    )
    await page.wait_for_timeout(400)  # the page's first answers drawn
    await page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    return [
        f"{name}: {v['id']} ({v['impact']}) {v['help']} at {v['targets'][:3]}"
        for v in await axe_violations(page)
    ]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_no_serious_wcag_violation_on_any_desk_page(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    server = await desk_ops(tmp_path)
    # bypass_csp: Ops' Content-Security-Policy (script-src 'self') would refuse the
    # injected axe script; the pages' own scripts are the same either way.
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    found: list[str] = []
    errors: list[str] = []
    try:
        tickets = await seed(api)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/login")
        found += [
            f"login: {v['id']} ({v['impact']}) {v['help']} at {v['targets'][:3]}"
            for v in await axe_violations(page)
        ]
        await login(page, server.base_url)
        # A live failure while the dashboard is open: its rows are highlighted.
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await deliver(api, "onboarding.failed", "stuck", domain="parada.pt", code="portal:timeout")
        await page.wait_for_timeout(600)
        shot = f"axe-{locale}-{width}"
        found += await check(page, "dashboard-live", f"{shot}-dashboard-live")
        # The banner: folded at first on a phone (its title and a button), open otherwise.
        toggle = page.locator("[data-banner-toggle]")
        banner_list = page.locator("[data-banner] .banner-list")
        await expect(toggle).to_have_attribute("aria-expanded", str(width > 600).lower())
        if width < 600:
            await expect(banner_list).to_be_hidden()
            box = await page.locator("[data-banner]").bounding_box()
            assert box is not None and box["height"] < 120, box
            await toggle.focus()
            await page.keyboard.press("Enter")
            await expect(banner_list).to_be_visible()
            await expect(toggle).to_have_attribute("aria-expanded", "true")
            found += await check(page, "dashboard-banner-open", f"{shot}-dashboard-banner-open")
        for name, path in pages(tickets).items():
            await page.goto(server.base_url + path)
            if name.startswith("dashboard"):  # audited with the breakdown's table drawn
                await expect(page.locator("[data-breakdown-table]")).to_be_visible(timeout=WAIT)
            if name == "dashboard-by-provider":  # and its trend split's table open
                await page.locator("[data-breakdown-trend-toggle]").click()
                trend = page.locator("[data-breakdown-trend-table]")
                await expect(trend).to_be_visible(timeout=WAIT)
            found += await check(page, name, f"{shot}-{name}")
        assert found == [], "\n".join(found)
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
