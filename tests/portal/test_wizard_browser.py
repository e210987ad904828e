"""Issue 25 in a real browser: the customer always knows where they stand.

Debian's Chromium (Playwright) against the Portal under uvicorn on 127.0.0.1 with its
sandbox providers, in pt-PT and English, at 1280, 390 and 320 px: a plain (long) domain
to the end, a domain another customer onboarded, a public mailbox provider's domain, a
failed account step (the sandbox fails accounts on ``fail*`` domains) with the support
contact and reference, and "Start again" on that same domain. On every step: no
horizontal overflow (scrollWidth <= clientWidth) and no serious or critical axe-core
WCAG 2.1 AA violation. Screenshots: var/test-artifacts/portal/wizard-*.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.portal.conftest import PASSWORD, FakeOps, make_settings
from tests.support.axe import axe_violations
from tests.support.runner import Loopback
from vm112_portal.app import create_app
from vm112_portal.support import SECRET_COOKIE, parse_support_contact

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "portal"
WAIT = 10_000  # ms
CONTACT = "suporte@mail.example.net, +351 210 000 000"
# Long and unbreakable (no hyphen), and a Microsoft 365 zone: the plan shows conflicts.
LONG = "m365papelariaelivrariadobairroaltodelisboadesde1927"
REFERENCE = re.compile(r"[A-Z2-9]{8}")
TEXT = {
    "pt-PT": {
        "taken": "já foi configurado no nosso serviço de correio por outro cliente",
        "mailbox": "fornecedor público de correio",
        "refused": "recusou criar a sua caixa de correio",
        "no_retry": "Tentar de novo não muda isto",
        "reference": "Referência para o suporte:",
        "placeholder": "exemplo.pt",
    },
    "en": {
        "taken": "already set up on our mail service by another customer",
        "mailbox": "public mailbox provider",
        "refused": "refused to create your mailbox",
        "no_retry": "Trying again will not change this",
        "reference": "Support reference:",
        "placeholder": "example.com",
    },
}


@dataclass
class Running:
    base: str
    app: object


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    settings = make_settings(tmp_path, support_contact=parse_support_contact(CONTACT))
    app = create_app(
        settings, ops_transport=httpx.MockTransport(FakeOps()), providers_in_process=True
    )
    server = Loopback()
    await server.start(app)
    try:
        yield Running(server.base_url, app)
    finally:
        await server.stop()


async def onboard_elsewhere(base: str, domain: str) -> None:
    """Another customer onboards ``domain`` through the API (their own secret)."""
    async with httpx.AsyncClient(base_url=base) as client:
        api = "/api/v1/onboarding"
        first = await client.post(f"{api}/validate-domain", json={"domain": domain})
        secret = {"X-Wizard-Secret": first.cookies[SECRET_COOKIE]}
        client.cookies.clear()
        body = {"domain": domain}
        assert (
            await client.post(f"{api}/dns/cloudflare/apply", json=body, headers=secret)
        ).is_success
        account = {
            **body,
            "admin_local_part": "outro",
            "display_name": "Outro",
            "password": PASSWORD,
        }
        assert (await client.post(f"{api}/account/create", json=account, headers=secret)).is_success


async def check_step(page: Page, name: str, shots: list[str]) -> None:
    """No horizontal overflow and no serious or critical axe violation; a screenshot."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], (name, widths)
    violations = await axe_violations(page)
    assert violations == [], (name, violations)
    path = ARTIFACTS / f"wizard-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shots.append(path.name)


async def submit(page: Page, form: str) -> None:
    await page.click(f'form[data-form="{form}"] button[type=submit]')


@pytest.mark.parametrize("width", [1280, 390, 320])
@pytest.mark.parametrize("locale", ["pt-PT", "en"])
async def test_the_customer_knows_where_they_stand(
    browser: Browser, running: Running, locale: str, width: int
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = TEXT[locale]
    tag = f"{locale}-{width}"
    slug = f"{locale.lower()[:2]}{width}"
    await onboard_elsewhere(running.base, f"taken-{slug}.pt")
    shots: list[str] = []
    errors: list[str] = []
    # bypass_csp: the page's CSP (script-src 'self') would refuse the injected axe-core.
    context = await browser.new_context(
        locale=locale, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(running.base + "/")
        await expect(page.locator("html")).to_have_attribute("lang", locale)
        domain = page.locator("#domain")
        assert await domain.get_attribute("placeholder") == text["placeholder"]
        # The first Tab stop is the current step's first field.
        await page.keyboard.press("Tab")
        await expect(domain).to_be_focused()
        # Visible focus (WCAG 2.4.7): a 3 px ring in the text colour, also on the dark
        # button (#1d2330 on the white card: 15:1, over the 3:1 asked).
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        ring = await page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                return [document.activeElement.type, s.outlineStyle, s.outlineWidth,
                        s.outlineColor]; }"""
        )
        assert ring == ["submit", "solid", "3px", "rgb(29, 35, 48)"], ring
        await domain.focus()
        # The session id never reaches the page: no id in storage, the cookie is HttpOnly.
        cookies = await context.cookies()
        assert cookies == []
        await check_step(page, f"{tag}-1-empty", shots)

        # A public mailbox provider's domain: its own message, the field marked invalid.
        await domain.fill("gmail.com")
        await submit(page, "domain")
        error = page.locator('[data-error="domain"]')
        await expect(error).to_contain_text(text["mailbox"], timeout=WAIT)
        await expect(error).to_contain_text("suporte@mail.example.net")
        await expect(error).not_to_contain_text(text["reference"])
        await expect(domain).to_have_attribute("aria-invalid", "true")
        assert "domain-error" in (await domain.get_attribute("aria-describedby") or "").split()
        await check_step(page, f"{tag}-1-mailbox", shots)

        # A domain another customer onboarded.
        await domain.fill(f"taken-{slug}.pt")
        await submit(page, "domain")
        await expect(error).to_contain_text(text["taken"], timeout=WAIT)
        await expect(error).to_contain_text("+351 210 000 000")
        await check_step(page, f"{tag}-1-taken", shots)

        # A plain (long) domain, to the end.
        plain = f"{LONG}{slug}.pt"
        await domain.fill(plain)
        await page.fill("#contact", "ana@gmail.com")
        await submit(page, "domain")
        await expect(page.locator('[data-step="dns"] h2')).to_be_focused(timeout=WAIT)
        await expect(domain).not_to_have_attribute("aria-invalid", "true")
        assert await domain.evaluate("(input) => input.readOnly")  # finished: read-only
        reference = (await page.locator("[data-reference]").text_content()) or ""
        assert REFERENCE.fullmatch(reference), reference
        cookies = await context.cookies()
        assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
            (SECRET_COOKIE, True, "Strict")
        ]
        assert cookies[0]["value"] not in await page.content()
        await expect(page.locator("[data-plan] li")).to_have_count(4, timeout=WAIT)
        await page.keyboard.press("Tab")  # from the heading: into the step, not step 1
        assert (
            await page.evaluate("() => document.activeElement.closest('[data-step]')?.dataset.step")
            == "dns"
        )
        await check_step(page, f"{tag}-2-dns", shots)
        await submit(page, "dns")
        await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
        await expect(page.locator("[data-domain-suffix]")).to_have_text(f"@{plain}")
        await check_step(page, f"{tag}-3-account", shots)
        await page.fill("#admin_local_part", "ana")
        await page.fill("#display_name", "Ana Lopes")
        await page.fill("#password", PASSWORD)
        await submit(page, "account")
        # The heading is the mail check's (Ready / Almost there): the account line is ours.
        await expect(page.locator('[data-step="done"]')).to_be_visible(timeout=WAIT)
        await expect(page.locator('[data-result="account"]')).to_contain_text(f"ana@{plain}")
        await expect(page.locator("[data-support-done]")).to_contain_text(
            "suporte@mail.example.net"
        )
        await expect(page.locator("[data-reference]")).to_have_text(reference)
        await check_step(page, f"{tag}-4-done", shots)

        # Start again; a domain whose account step fails the same way every time.
        await page.click("[data-action=restart]")
        await expect(domain).to_be_focused()
        failing = f"fail-{slug}.pt"
        await domain.fill(failing)
        await submit(page, "domain")
        await expect(page.locator("[data-plan] li")).to_have_count(4, timeout=WAIT)
        await submit(page, "dns")
        await expect(page.locator('[data-step="account"]')).to_be_visible(timeout=WAIT)
        await page.fill("#admin_local_part", "ana")
        await page.fill("#display_name", "Ana Lopes")
        await page.fill("#password", PASSWORD)
        await submit(page, "account")
        account_error = page.locator('[data-error="account"]')
        await expect(account_error).to_contain_text(text["refused"], timeout=WAIT)
        await expect(account_error).to_contain_text(text["no_retry"])
        await expect(account_error).to_contain_text("suporte@mail.example.net")
        await expect(account_error).to_contain_text("+351 210 000 000")
        failed_reference = (await page.locator("[data-reference]").text_content()) or ""
        assert REFERENCE.fullmatch(failed_reference) and failed_reference != reference
        await expect(account_error).to_contain_text(f"{text['reference']} {failed_reference}")
        # Retrying cannot help: the button is no longer offered.
        await expect(page.locator('form[data-form="account"] button[type=submit]')).to_be_hidden()
        await check_step(page, f"{tag}-3-account-failed", shots)

        # "Start again" on the same domain: the hold is released at once.
        await page.click("[data-action=restart]")
        await domain.fill(failing)
        await submit(page, "domain")
        await expect(page.locator('[data-step="dns"] h2')).to_be_focused(timeout=WAIT)
        await expect(page.locator('[data-result="domain"]')).to_contain_text(failing)
        assert (await page.locator("[data-reference]").text_content()) not in (
            failed_reference,
            reference,
        )
        await check_step(page, f"{tag}-2-start-again", shots)
        assert errors == []
    finally:
        await context.close()
    assert len(shots) == 8
