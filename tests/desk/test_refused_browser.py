"""Refused attempts on the Desk in Debian's Chromium, at 1280 and 390 px, in English and
pt-PT: the funnel card says "Refused 3" apart from the stuck sessions, with the codes in
words; its link lists the refused sessions; a refused session's page says its state and
why, and so does the search. axe-core finds no serious or critical WCAG 2.1 AA violation
on those pages.
Screenshots: test-artifacts/refused-{lang}-{width}-{page}.png."""

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

GMAIL = {"code": "mailbox_provider", "status": 422}
TAKEN = {"code": "domain_in_progress", "status": 409}
TEXTS = {
    "en-GB": {
        "refused": "Refused 3",
        "stuck": "Stuck now: 1",
        "why": "Why: public mailbox domain (e.g. gmail.com): 2; domain held by another session: 1",
        "split": "3 refused",
        "row": "public mailbox domain (e.g. gmail.com)",
        "state": "refused",
        "active": "active",
        "page": "Refused: domain held by another session",
        "event": "An attempt was refused: domain held by another session.",
    },
    "pt-PT": {
        "refused": "Recusadas 3",
        "stuck": "Paradas agora: 1",
        "why": "Porquê: domínio de correio público (p. ex. gmail.com): 2; "
        "domínio reservado por outra sessão: 1",
        "split": "3 recusadas",
        "row": "domínio de correio público (p. ex. gmail.com)",
        "state": "recusada",
        "active": "ativa",
        "page": "Recusada: domínio reservado por outra sessão",
        "event": "Uma tentativa foi recusada: domínio reservado por outra sessão.",
    },
}


async def violations(page: Page, name: str) -> list[str]:
    return [
        f"{name}: {v['id']} ({v['impact']}) {v['help']} at {v['targets'][:3]}"
        for v in await axe_violations(page)
    ]


async def fits(page: Page) -> bool:
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_refused_attempts_are_counted_apart_and_said_in_words(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    texts = TEXTS[locale]
    server = await desk_ops(tmp_path)
    # bypass_csp: Ops' script-src 'self' would refuse the injected axe script.
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    shot = f"refused-{locale}-{width}"
    try:
        now = time.time()
        rejected = {"domain": "(rejected)"}
        # Idle for 50 min: stuck, were they attempts like the others.
        await deliver(api, "onboarding.started", "gm1", at=now - 3000, refusal=GMAIL, **rejected)
        await deliver(api, "onboarding.started", "gm2", at=now - 3100, refusal=GMAIL, **rejected)
        await deliver(api, "onboarding.started", "tk", at=now - 3600, refusal=GMAIL, **rejected)
        await deliver(api, "onboarding.started", "tk", at=now - 3200, refusal=TAKEN, **rejected)
        await deliver(api, "onboarding.started", "waits", domain="parada.pt", at=now - 3000)
        # Refused first, then a domain validated: an attempt like any other (moving).
        await deliver(api, "onboarding.started", "later", at=now - 600, refusal=GMAIL, **rejected)
        await deliver(api, "domain.validated", "later", domain="depois.pt", at=now - 60)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, server.base_url)
        refused = page.locator('[data-figure="refused"] a')
        await expect(refused).to_have_text(texts["refused"], timeout=WAIT)
        await expect(page.locator("a[data-stuck-total]")).to_have_text(texts["stuck"])
        await expect(page.locator("[data-refused-codes]")).to_contain_text(texts["why"])
        split = page.locator('[data-split="started"] [data-state="refused"]')
        await expect(split).to_have_text(texts["split"])
        await page.screenshot(path=str(ARTIFACTS / f"{shot}-dashboard.png"), full_page=True)
        found = await violations(page, "dashboard")
        assert await fits(page)

        await refused.click()
        await page.wait_for_url("**/funnel/sessions?**state=refused")
        rows = page.locator("tr[data-session-id]")
        await expect(rows).to_have_count(3, timeout=WAIT)
        assert await rows.evaluate_all("rows => rows.map(r => r.dataset.sessionId)") == [
            "gm1",
            "gm2",
            "tk",
        ]
        first = page.locator('tr[data-session-id="gm1"]')
        await expect(first.locator("[data-refusal]")).to_have_text(texts["row"])
        await expect(first.locator("[data-state]")).to_have_text(texts["state"])
        await expect(page.locator("[data-take]")).to_have_count(0)  # nothing to take
        await page.screenshot(path=str(ARTIFACTS / f"{shot}-list.png"), full_page=True)
        found += await violations(page, "list")
        assert await fits(page)

        await page.locator('tr[data-session-id="tk"] a').first.click()
        await page.wait_for_url("**/sessions/tk")
        await expect(page.locator("[data-refusal]")).to_have_text(texts["page"], timeout=WAIT)
        await expect(page.locator("[data-status]")).to_have_text(texts["state"])
        await expect(page.locator("[data-timeline]")).to_contain_text(texts["event"])
        await page.screenshot(path=str(ARTIFACTS / f"{shot}-session.png"), full_page=True)
        found += await violations(page, "session")
        assert await fits(page)

        # The search says so too (by session id; a session validated after a refusal is
        # active again).
        await page.goto(f"{server.base_url}/search?q=tk")
        status = page.locator('tr[data-session-id="tk"] td').nth(3)
        await expect(status).to_have_text(texts["state"], timeout=WAIT)
        await page.goto(f"{server.base_url}/search?q=later")
        status = page.locator('tr[data-session-id="later"] td').nth(3)
        await expect(status).to_have_text(texts["active"], timeout=WAIT)
        await page.screenshot(path=str(ARTIFACTS / f"{shot}-search.png"), full_page=True)
        found += await violations(page, "search")
        assert await fits(page)
        assert found == [], "\n".join(found)
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
