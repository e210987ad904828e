"""The Desk's "mail of completed onboardings" card in Chromium: the figures beside the
funnel, the list of sessions whose mail is not ready with what is missing, live as
mail.checked events arrive, in pt-PT and English at 1280 and 390 px; screenshots kept in
test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.desk.harness import XSS, desk_ops
from tests.support.axe import axe_violations
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver
from vm122_ops.ingest.events import STAGE_TYPES


def check(ready: bool, **not_ok: dict[str, Any]) -> dict[str, Any]:
    items = []
    for name in ("mx", "spf", "dmarc", "dkim", "autodiscover"):
        items.append({"name": name, "status": "ok", "code": "ok", **not_ok.get(name, {})})
    return {"ready": ready, "items": items, "changed_from": None}


MX_M365 = {"status": "pending", "code": "mx_elsewhere", "provider": "Microsoft 365"}
DKIM = {"status": "pending", "code": "dkim_not_created", "todo": "team"}


@pytest.mark.parametrize(
    ("locale", "width", "texts"),
    [
        (
            "pt-PT",
            1280,
            ("1 de 3 com o correio a funcionar", "o MX ainda aponta para Microsoft 365"),
        ),
        ("en-GB", 390, ("1 of 3 with working mail", "MX still points to Microsoft 365")),
    ],
)
async def test_the_mail_card_lists_the_domains_whose_mail_is_not_ready(
    browser: Browser, tmp_path: Path, locale: str, width: int, texts: tuple[str, str]
) -> None:
    server = await desk_ops(tmp_path)
    # bypass_csp: the page's CSP (script-src 'self') would refuse axe-core's injected script.
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    errors: list[str] = []
    try:
        api = httpx.AsyncClient(
            base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        domains = {"ok1": "pronto.pt", "m365": "m365-loja.pt", "xss": XSS}
        for session_id, domain in domains.items():
            for event_type in STAGE_TYPES:
                await deliver(api, event_type, session_id, domain=domain)
        await deliver(api, "mail.checked", "ok1", domain="pronto.pt", **check(True))
        await deliver(
            api,
            "mail.checked",
            "m365",
            domain="m365-loja.pt",
            **check(False, mx=MX_M365, dkim=DKIM),
        )
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, server.base_url)
        card = page.locator("[data-mail-ready]")
        await expect(card.locator("[data-mail-summary]")).to_have_text(texts[0], timeout=WAIT)
        rows = card.locator("tr[data-mail-session]")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator('li[data-item="mx"]')).to_have_text(texts[1])
        # The hostile domain's check arrives live: a second row, its name as text.
        await deliver(api, "mail.checked", "xss", domain=XSS, **check(False, dkim=DKIM))
        await expect(rows).to_have_count(2, timeout=WAIT)
        await expect(card.locator("[data-mail-not-ready]")).to_have_attribute(
            "data-mail-not-ready", "2"
        )
        await expect(card.locator('tr[data-mail-session="xss"] a').first).to_have_text(XSS)
        assert await page.locator("img").count() == 0
        # The count equals the rows listed, and the list is what the API says.
        answer = (await api.get("/api/v1/onboard/mail", params={"hours": "48"})).json()
        assert answer["mail_not_ready"] == await rows.count() == 2
        # No horizontal scroll of the page at this width.
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        assert await axe_violations(page) == []
        await card.scroll_into_view_if_needed()
        await page.screenshot(
            path=str(ARTIFACTS / f"desk-mail-{locale}-{width}.png"), full_page=True
        )
        assert errors == []
        await api.aclose()
    finally:
        await context.close()
        await server.stop()
