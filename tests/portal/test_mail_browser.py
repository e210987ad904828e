"""The wizard's last page tells the truth about the customer's mail, in Chromium (Playwright)
against the Portal under a real uvicorn, its sandbox providers in-process and the mail
check on (the sandbox's zones as the world's DNS, vm112_portal/providers/sandbox/dns.py).

Each outcome the sandbox covers, in pt-PT at 1280 px and in English at 390 px: a Microsoft
365 customer who kept the MX ("Almost there": the MX still goes to Microsoft 365, the
record to change, DKIM by our team with the date); a domain without a Cloudflare zone whose
customer publishes later (the manual mode said from the first steps, the table of records
each copyable whole, "check again" finds them); an empty zone whose DKIM key our team
published before ("Ready"). Screenshots in var/test-artifacts/portal/ (gitignored).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.portal.conftest import PASSWORD, FakeOps, make_settings
from tests.support.axe import axe_violations
from tests.support.runner import Loopback
from vm112_portal.app import create_app
from vm112_portal.dkim import parse
from vm112_portal.dkim_publish import publish
from vm112_portal.providers.sandbox.dns import SandboxDns

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "portal"
CAPTURED = Path(__file__).resolve().parent / "data" / "zmdkimkeyutil-q-loja-pronta.pt.txt"
WAIT = 10_000  # ms
MAIL = "mail.sandbox.example.net"

LANGUAGES = [
    pytest.param("pt-PT", 1280, id="pt-PT-1280"),
    pytest.param("en-GB", 390, id="en-390"),
]
TEXT = {
    "pt-PT": {
        "almost": "Quase pronto",
        "ready": "Pronto",
        "mx": "O correio recebido ainda vai para Microsoft 365",
        "dkim": "Assinatura (DKIM): feita pela nossa equipa, até",
        "manual": "O seu domínio não tem uma zona Cloudflare connosco",
        "again": "Verificar de novo",
    },
    "en-GB": {
        "almost": "Almost there",
        "ready": "Ready",
        "mx": "Incoming mail still goes to Microsoft 365",
        "dkim": "Signing (DKIM): done by our team, by",
        "manual": "Your domain has no Cloudflare zone with us",
        "again": "Check again",
    },
}


async def wizard(page: Page, domain: str, *, replace: list[str] | None = None) -> None:
    await page.fill("#domain", domain)
    await page.click('form[data-form="domain"] button[type=submit]')
    await expect(page.locator('[data-step="dns"]')).to_be_visible(timeout=WAIT)
    await expect(page.locator("[data-plan] > *").first).to_be_visible(timeout=WAIT)
    for purpose in replace or []:
        await page.check(f"#choice-{purpose}-replace")
    await page.click('form[data-form="dns"] button[type=submit]')
    await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
    await page.fill("#admin_local_part", "ana")
    await page.fill("#display_name", "Ana Lopes")
    await page.fill("#password", PASSWORD)
    await page.click('form[data-form="account"] button[type=submit]')
    await expect(page.locator('[data-step="done"]')).to_be_visible(timeout=WAIT)


async def no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


@pytest.mark.parametrize(("locale", "width"), LANGUAGES)
async def test_the_last_page_says_almost_there_ready_and_what_to_do(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = TEXT[locale]
    app = create_app(
        make_settings(tmp_path, mail_check=True),
        ops_transport=httpx.MockTransport(FakeOps()),
        providers_in_process=True,
    )
    server = Loopback()
    await server.start(app)
    errors: list[str] = []
    # bypass_csp: the page's CSP (script-src 'self') would refuse axe-core's injected script.
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    shot = f"{locale}-{width}"
    try:
        # 1. Microsoft 365, MX kept: almost there, the MX line with the record to change.
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/")
        await wizard(page, "m365loja.pt")
        done = page.locator('[data-step="done"]')
        await expect(done.locator("h2")).to_have_text(text["almost"], timeout=WAIT)
        mail = page.locator("[data-mail]")
        await expect(mail).to_have_attribute("data-ready", "false")
        mx = mail.locator('li[data-mail-item="mx"]')
        await expect(mx).to_contain_text(text["mx"])
        await expect(mx.locator("tr[data-record] td").nth(2)).to_have_text(MAIL)
        await expect(mail.locator('li[data-mail-item="dkim"]')).to_contain_text(text["dkim"])
        await expect(mail.locator('[data-action="check-mail"]')).to_have_text(text["again"])
        await no_sideways_scroll(page)
        assert await axe_violations(page) == []
        await page.screenshot(path=str(ARTIFACTS / f"mail-m365-kept-{shot}.png"), full_page=True)
        await page.close()

        # 2. No Cloudflare zone, published later: manual mode said at the DNS step, the
        # table of records, "check again" finds them (the 30 s guard set aside here).
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/")
        await page.fill("#domain", "nocflater-loja.pt")
        await page.click('form[data-form="domain"] button[type=submit]')
        await expect(page.locator("[data-dns-intro]")).to_contain_text(text["manual"], timeout=WAIT)
        await page.click('form[data-form="dns"] button[type=submit]')
        await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
        await page.fill("#admin_local_part", "ana")
        await page.fill("#display_name", "Ana Lopes")
        await page.fill("#password", PASSWORD)
        await page.click('form[data-form="account"] button[type=submit]')
        mail = page.locator("[data-mail]")
        await expect(mail).to_have_attribute("data-ready", "false", timeout=WAIT)
        rows = mail.locator("table[data-mail-records] tbody tr")
        await expect(rows).to_have_count(4)  # MX, SPF, DMARC, autodiscover (DKIM: our team)
        mx_row = rows.nth(0)
        await expect(mx_row.locator("td").nth(1)).to_have_text("nocflater-loja.pt")
        copy = mx_row.locator("button.copy")
        assert await copy.get_attribute("data-copy") == f"nocflater-loja.pt MX 10 {MAIL}"
        await copy.click()
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert copied == f"nocflater-loja.pt MX 10 {MAIL}"
        await no_sideways_scroll(page)
        assert await axe_violations(page) == []
        await page.screenshot(path=str(ARTIFACTS / f"mail-manual-{shot}.png"), full_page=True)
        app.state.portal.mail.customer_interval = 0.0
        await mail.locator('[data-action="check-mail"]').click()
        await expect(rows).to_have_count(0, timeout=WAIT)
        items = mail.locator("li[data-mail-item]")
        await expect(items).to_have_count(1)  # only DKIM is left, our team's
        await expect(items.first).to_have_attribute("data-mail-item", "dkim")
        await page.screenshot(path=str(ARTIFACTS / f"mail-manual-later-{shot}.png"), full_page=True)
        await page.close()

        # 3. An empty zone whose DKIM key our team published before: Ready.
        state: Any = app.state.portal
        key = parse(CAPTURED.read_text(encoding="utf-8"), "loja-pronta.pt")
        lookup = SandboxDns(state.sandbox, MAIL)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/")
        await page.fill("#domain", "loja-pronta.pt")
        await page.click('form[data-form="domain"] button[type=submit]')
        await expect(page.locator('[data-step="dns"]')).to_be_visible(timeout=WAIT)
        await page.click('form[data-form="dns"] button[type=submit]')
        await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
        await publish(
            key,
            db=state.db,
            cloudflare=state.wizard._dns,
            lookup=lookup,
            checker=state.mail,
            wait=0,
        )
        await page.fill("#admin_local_part", "ana")
        await page.fill("#display_name", "Ana Lopes")
        await page.fill("#password", PASSWORD)
        await page.click('form[data-form="account"] button[type=submit]')
        await expect(page.locator('[data-step="done"] h2')).to_have_text(
            text["ready"], timeout=WAIT
        )
        await expect(page.locator("[data-mail]")).to_have_attribute("data-ready", "true")
        await expect(page.locator('[data-action="check-mail"]')).to_have_count(0)
        await no_sideways_scroll(page)
        assert await axe_violations(page) == []
        await page.screenshot(path=str(ARTIFACTS / f"mail-ready-{shot}.png"), full_page=True)
        assert errors == []
    finally:
        await context.close()
        await server.stop()
