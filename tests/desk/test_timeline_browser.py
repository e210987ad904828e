"""The readable timeline and new failures in a real browser (issue 12, items 8 and 10):
Debian's Chromium through Playwright against Ops under uvicorn. A failure with a hostile
reason (markup and a right-to-left override) reads as a sentence shown as text, repeats
collapse into one entry whose count grows live, the raw data opens from the keyboard, the
contact is a mailto: link, and a new failure on the tickets list is highlighted and
counted in the tab title until the page is looked at. Screenshot:
test-artifacts/timeline-readable.png."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.desk.harness import desk_ops
from tests.support.browser import ARTIFACTS, WAIT, login, tab_to
from tests.support.credentials import TOKEN
from tests.support.signer import deliver

HOSTILE = "<img src=x onerror=alert(1)> \u202eevil"
FAILURE = {
    "stage": "account_created",
    "code": "carbonio:account.ACCOUNT_EXISTS",
    "reason": HOSTILE,
    "contact": "admin@loja.pt",
}
DNS = {
    "mode": "cloudflare",
    "provider": "cloudflare",
    "zone": "loja.pt",
    "created": [{"type": "MX", "name": "loja.pt", "content": "mail.example.net", "priority": 10}],
    "merged": [
        {"type": "TXT", "name": "loja.pt", "content": "v=spf1 mx ~all", "previous": "v=spf1 ~all"}
    ],
    "replaced": [],
    "kept": [
        {
            "type": "TXT",
            "name": "_dmarc.loja.pt",
            "content": "v=DMARC1; p=quarantine",
            "reason": "dmarc_other_policy",
            "existing": [{"type": "TXT", "name": "_dmarc.loja.pt", "content": "v=DMARC1; p=none"}],
        }
    ],
    "present": [],
    "dkim": {"status": "pending", "operations": ["zmdkimkeyutil -a -d loja.pt"]},
}


async def test_a_hostile_failure_reads_as_text_and_repeats_collapse_live(
    browser: Browser, tmp_path: Path
) -> None:
    server = await desk_ops(tmp_path)
    base = server.base_url
    api = httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {TOKEN}"})
    context = await browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 900})
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        await deliver(api, "onboarding.started", "t1", domain="loja.pt")
        await deliver(api, "domain.validated", "t1", domain="loja.pt")
        await deliver(api, "dns.applied", "t1", domain="loja.pt", **DNS)
        for _ in range(2):
            await deliver(api, "onboarding.failed", "t1", domain="loja.pt", **FAILURE)

        page = await context.new_page()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, base, "/sessions/t1")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        dns = page.locator('[data-timeline] li[data-event-type="dns.applied"]')
        await expect(dns.locator("[data-sentence]")).to_have_text(
            "DNS records applied in the Cloudflare zone loja.pt: 1 created, 1 merged, "
            "0 replaced, 1 kept unchanged, 0 already there."
        )
        failed = page.locator('[data-timeline] li[data-event-type="onboarding.failed"]')
        await expect(failed).to_have_count(1)
        sentence = (
            "Failed at Account creation: carbonio:account.ACCOUNT_EXISTS — "
            "<img src=x onerror=alert(1)> [U+202E]evil"
        )
        await expect(failed.locator("[data-sentence]")).to_have_text(sentence)
        await expect(failed.locator("[data-repeat]")).to_have_text("\u00d72")
        await expect(page.locator("[data-contact]")).to_have_attribute(
            "href", "mailto:admin@loja.pt"
        )
        await expect(page.locator("[data-contact]")).to_have_text("admin@loja.pt")

        # The raw data opens from the keyboard: Tab to the failure's "Details", Enter.
        summary = failed.locator("summary")
        await tab_to(page, summary, "the failure's Details", presses=40)
        await page.keyboard.press("Enter")
        raw = failed.locator("details pre")
        await expect(raw).to_be_visible()
        await expect(raw).to_contain_text('"reason": "<img src=x onerror=alert(1)> [U+202E]evil"')

        # Another identical failure arrives live: the same entry counts it, still open.
        await deliver(api, "onboarding.failed", "t1", domain="loja.pt", **FAILURE)
        await expect(failed.locator("[data-repeat]")).to_have_text("\u00d73", timeout=WAIT)
        await expect(failed).to_have_count(1)
        await expect(raw).to_be_visible()
        # A different reason is a new entry.
        other = {**FAILURE, "code": "x:y"}
        await deliver(api, "onboarding.failed", "t1", domain="loja.pt", **other)
        await expect(failed).to_have_count(2, timeout=WAIT)
        assert await page.locator("img, [onerror]").count() == 0
        await page.screenshot(path=str(ARTIFACTS / "timeline-readable.png"), full_page=True)

        # The tickets list while nobody looks at it (the window without focus): a new
        # failure is counted in the title and its row highlighted; looking again sees it.
        await page.goto(f"{base}/tickets")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        title = await page.title()
        await page.evaluate("() => { Document.prototype.hasFocus = () => false; }")
        await deliver(api, "onboarding.failed", "t2", domain="outra.pt", **FAILURE)
        row = page.locator('tr[data-ticket-session="t2"]')
        await expect(row).to_have_attribute("data-new-failure", "", timeout=WAIT)
        await expect(row.locator("[data-new-badge]")).to_have_text("New failure")
        await expect(row.locator('[data-tag="onboarding_failed"]')).to_have_class("tag tag-failed")
        await expect(page).to_have_title(f"(1) {title}")
        await page.evaluate(
            "() => { Document.prototype.hasFocus = () => true;"
            " window.dispatchEvent(new Event('focus')); }"
        )
        await expect(page).to_have_title(title)
        await expect(row).to_have_attribute("data-new-failure", "")  # highlighted 60 s more
        await row.hover()
        await expect(row).not_to_have_attribute("data-new-failure", "")
        assert dialogs == []
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
