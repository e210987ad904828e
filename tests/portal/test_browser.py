"""The wizard in a real browser (issue 11): Debian's Chromium driven by Playwright against
the Portal under a real uvicorn on 127.0.0.1, its sandbox providers in-process. A customer
of a Microsoft 365 domain (``m365…``) reads the plan in pt-PT, sees the conflicts with what
each choice does, confirms replacing them, and finishes. Screenshots go to
var/test-artifacts/portal/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.portal.conftest import PASSWORD, FakeOps, make_settings
from tests.support.runner import Loopback
from vm112_portal.app import create_app
from vm112_portal.providers.sandbox import Sandbox

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "portal"
WAIT = 10_000  # ms
MAIL = "mail.sandbox.example.net"


async def test_m365_wizard_plan_conflict_confirmed_and_completed(
    browser: Browser, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ops = FakeOps()
    app = create_app(
        make_settings(tmp_path), ops_transport=httpx.MockTransport(ops), providers_in_process=True
    )
    server = Loopback()
    await server.start(app)
    errors: list[str] = []
    context = await browser.new_context(locale="pt-PT", viewport={"width": 1000, "height": 1400})
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(server.base_url + "/")
        await expect(page.locator("html")).to_have_attribute("lang", "pt-PT")
        steps = page.locator("[data-step-marker]")
        await expect(steps.nth(0)).to_have_attribute("aria-current", "step")

        # A typo: a short message in the page's language, never the backend's English
        # reason; the field points at it (aria-describedby).
        await page.fill("#domain", "loja com espaços.pt")
        await page.click('form[data-form="domain"] button[type=submit]')
        error = page.locator('[data-error="domain"]')
        await expect(error).to_contain_text("Este nome de domínio não pode ser usado", timeout=WAIT)
        # A validation error carries no support reference (issue 25): nothing happened.
        await expect(error).to_contain_text("Contacte a nossa equipa de suporte")
        await expect(error).not_to_contain_text("Referência para o suporte:")
        assert "must not contain" not in (await error.text_content() or "")
        describedby = await page.locator("#domain").get_attribute("aria-describedby") or ""
        assert "domain-error" in describedby.split()

        await page.fill("#domain", "m365loja.pt")
        await page.click('form[data-form="domain"] button[type=submit]')
        conflicts = page.locator('[data-plan] li[data-action="conflict"]')
        await expect(conflicts).to_have_count(2, timeout=WAIT)
        # Focus left the domain field for the new step's heading; the steps say where we are.
        await expect(page.locator('[data-step="dns"] h2')).to_be_focused()
        await expect(steps.nth(1)).to_have_attribute("aria-current", "step")
        mx = page.locator('[data-plan-step="mx"]')
        await expect(mx).to_contain_text("m365loja-pt.mail.protection.outlook.com")
        await expect(mx).to_contain_text("deixam de receber correio até serem criados aqui")
        await expect(mx).to_contain_text("Só é escrito depois de a sua caixa existir")
        await expect(page.locator('[data-plan-step="spf"]')).to_have_attribute(
            "data-action", "merge"
        )
        # Keep is the default: replacing is the customer's explicit choice.
        assert await page.locator("#choice-mx-keep").is_checked()
        await page.screenshot(path=str(ARTIFACTS / "1-plan-with-conflicts.png"), full_page=True)

        await page.check("#choice-mx-replace")
        await page.check("#choice-autodiscover-replace")
        await page.click('form[data-form="dns"] button[type=submit]')
        await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
        await expect(page.locator("[data-records] tbody tr")).to_have_count(4)
        await page.screenshot(path=str(ARTIFACTS / "2-dns-applied.png"), full_page=True)

        await page.fill("#admin_local_part", "ana")
        await page.fill("#display_name", "Ana Lopes")
        await page.fill("#password", PASSWORD)
        await page.click('form[data-form="account"] button[type=submit]')
        done = page.locator('[data-step="done"]')
        await expect(done).to_be_visible(timeout=WAIT)
        await expect(page.locator('[data-result="account"]')).to_contain_text("ana@m365loja.pt")
        await page.screenshot(path=str(ARTIFACTS / "3-done.png"), full_page=True)
        assert errors == []
    finally:
        await context.close()
        await server.stop()

    sandbox: Sandbox = app.state.portal.sandbox
    zone = sorted((r["type"], r["content"]) for r in sandbox.records["m365loja.pt"])
    assert ("MX", MAIL) in zone and ("CNAME", MAIL) in zone
    assert not [c for t, c in zone if t in ("MX", "CNAME") and "outlook" in c]
    assert len([c for t, c in zone if c.startswith("v=spf1")]) == 1
    assert "ana@m365loja.pt" in sandbox.accounts
