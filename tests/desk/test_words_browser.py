"""What a person reads on the Desk, in Debian's Chromium, in English and pt-PT: tags by
their labels on the ticket page and the ticket list (never their keys). Screenshots:
test-artifacts/words-*.png."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.desk.harness import browser_desk, handover
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.signer import deliver

# The tags the Desk has words for (frontend/js/views/tables.js KNOWN_TAGS), by language.
LABELS = {
    "en-GB": {
        "ready_for_ops": "ready for Ops",
        "onboarding_failed": "onboarding failed",
        "mail_pending": "mail not ready",
        "mail_ready": "mail ready",
        "dns_manual": "DNS left to the customer",
        "dkim_pending": "DKIM pending",
        "follow_up": "follow-up",
    },
    "pt-PT": {
        "ready_for_ops": "pronta para Ops",
        "onboarding_failed": "adesão falhada",
        "mail_pending": "correio não pronto",
        "mail_ready": "correio pronto",
        "dns_manual": "DNS a cargo do cliente",
        "dkim_pending": "DKIM pendente",
        "follow_up": "acompanhamento",
    },
}
MINUS = "\u2212"  # the timeline's sign for a removed tag
MAIL_PENDING = {
    "ready": False,
    "items": [
        {"name": "mx", "status": "pending", "code": "mx_missing"},
        {"name": "spf", "status": "ok", "code": "ok"},
        {"name": "dmarc", "status": "ok", "code": "ok"},
        {"name": "dkim", "status": "ok", "code": "ok"},
        {"name": "autodiscover", "status": "ok", "code": "ok"},
    ],
    "changed_from": None,
}


async def raw_keys(page: Page, selector: str) -> list[str]:
    """The known tags' keys found in what the element shows (its rendered text)."""
    text = await page.locator(selector).inner_text()
    return [key for key in LABELS["en-GB"] if key in text]


@pytest.mark.parametrize(("locale", "width"), [("en-GB", 1280), ("pt-PT", 1280), ("pt-PT", 390)])
async def test_tags_read_as_labels_on_the_ticket_and_the_list(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> None:
    labels = LABELS[locale]
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page, base = desk.api, desk.page, desk.server.base_url
        ticket_id = await handover(api, "h1", "loja.pt", MAIL_PENDING)
        current = (await api.get(f"/api/v1/desk/tickets/{ticket_id}")).json()
        # A tag the Desk has no words for stays as typed.
        answer = await api.patch(
            f"/api/v1/desk/tickets/{ticket_id}",
            json={"version": current["version"], "tags": [*current["tags"], "vip"]},
        )
        assert answer.json()["ticket"]["tags"] == [
            "dkim_pending",
            "dns_manual",
            "mail_pending",
            "ready_for_ops",
            "vip",
        ]
        await login(page, base, f"/tickets/{ticket_id}")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        choices = page.locator("[data-tag-choices] label")
        await expect(choices).to_have_count(len(labels), timeout=WAIT)
        assert [text.strip() for text in await choices.all_inner_texts()] == list(labels.values())
        ticked = page.locator("[data-tag-choice]:checked")
        await expect(ticked).to_have_count(4)
        assert sorted(await ticked.evaluate_all("(boxes) => boxes.map((b) => b.value)")) == [
            "dkim_pending",
            "dns_manual",
            "mail_pending",
            "ready_for_ops",
        ]
        other = page.locator("[data-ticket-actions] input[name=tags]")
        await expect(other).to_have_value("vip")
        await expect(page.locator("[data-tags] [data-tag]")).to_have_text(
            [labels[tag] for tag in ("dkim_pending", "dns_manual", "mail_pending", "ready_for_ops")]
            + ["vip"]
        )
        assert await raw_keys(page, "main") == []

        # The mail is ready now: one tick, one untick, saved; the timeline says it in words.
        await page.get_by_label(labels["mail_ready"], exact=True).check()
        await page.get_by_label(labels["mail_pending"], exact=True).uncheck()
        await page.locator("[data-ticket-actions] button[type=submit]").click()
        change = page.locator('[data-timeline] li[data-activity="tags"]').last
        await expect(change.locator("strong")).to_have_text(
            f"ana: {'etiquetas' if locale == 'pt-PT' else 'tags'} "
            f"+{labels['mail_ready']} {MINUS}{labels['mail_pending']}",
            timeout=WAIT,
        )
        saved = (await api.get(f"/api/v1/desk/tickets/{ticket_id}")).json()
        assert saved["tags"] == ["dkim_pending", "dns_manual", "mail_ready", "ready_for_ops", "vip"]
        await expect(other).to_have_value("vip")
        assert await raw_keys(page, "main") == []
        assert await desk.fits()
        await page.screenshot(
            path=str(ARTIFACTS / f"words-ticket-{locale}-{width}.png"), full_page=True
        )

        # The list: its tags and its tag filter in words; the filter still sends the key.
        await page.goto(f"{base}/tickets?queue=all")
        rows = page.locator("[data-tickets] tr[data-ticket-id]")
        await expect(rows).to_have_count(1, timeout=WAIT)
        assert await raw_keys(page, "main") == []
        options = page.locator("select[name=tag] option")
        assert (await options.all_inner_texts())[1:] == list(labels.values())
        await page.select_option("select[name=tag]", label=labels["mail_ready"])
        await page.locator("[data-ticket-filters] button[type=submit]").click()
        await page.wait_for_url(f"{base}/tickets?**tag=mail_ready**")
        await expect(rows).to_have_count(1, timeout=WAIT)
        await expect(page.locator("select[name=tag]")).to_have_value("mail_ready")
        assert desk.errors == []


REFERENCE = {"en-GB": "Support reference", "pt-PT": "Referência para o suporte"}
NO_REFERENCE = {"en-GB": "none", "pt-PT": "nenhuma"}


@pytest.mark.parametrize(("locale", "width"), [("en-GB", 1280), ("pt-PT", 390)])
async def test_the_session_and_ticket_pages_show_the_support_reference(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> None:
    """The 8 characters the Portal gave the customer, labelled, on the session page and
    the ticket page (an agent on the phone confirms them); "none" without one."""
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page, base = desk.api, desk.page, desk.server.base_url
        now = time.time()
        await deliver(
            api, "onboarding.started", "r1", domain="loja.pt", at=now - 600, reference="K7Q2M9XP"
        )
        await deliver(api, "account.created", "r1", domain="loja.pt", at=now - 500)
        await deliver(api, "onboarding.started", "r2", domain="sem-ref.pt", at=now - 400)
        await login(page, base, "/sessions/r1")
        line = page.locator("[data-reference-line]")
        await expect(line).to_have_text(f"{REFERENCE[locale]}: K7Q2M9XP", timeout=WAIT)
        # Live events keep it.
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await deliver(api, "infra.synced", "r1", domain="loja.pt", plan="base")
        await expect(page.locator("[data-timeline] li.entry")).to_have_count(3, timeout=WAIT)
        await expect(line).to_have_text(f"{REFERENCE[locale]}: K7Q2M9XP")
        await page.screenshot(path=str(ARTIFACTS / f"words-session-{locale}-{width}.png"))

        listing = (await api.get("/api/v1/desk/tickets", params={"session_id": "r1"})).json()
        await page.goto(f"{base}/tickets/{listing['tickets'][0]['id']}")
        term = page.locator("[data-ticket-head] dt", has_text=REFERENCE[locale])
        await expect(term).to_have_count(1, timeout=WAIT)
        await expect(page.locator("[data-ticket-head] dd[data-reference]")).to_have_text("K7Q2M9XP")
        await page.screenshot(path=str(ARTIFACTS / f"words-ticket-ref-{locale}-{width}.png"))

        await page.goto(f"{base}/sessions/r2")
        await expect(page.locator("[data-reference-line]")).to_have_text(
            f"{REFERENCE[locale]}: {NO_REFERENCE[locale]}", timeout=WAIT
        )
        assert await desk.fits()
        assert desk.errors == []


IDN = "xn--loja-de-cermica-e-azulejos-do-norte-e5c.example.pt"
IDN_SHOWN = "loja-de-cerâmica-e-azulejos-do-norte.example.pt"


@pytest.mark.parametrize(("locale", "width"), [("en-GB", 1280), ("pt-PT", 1280)])
async def test_an_internationalised_domain_reads_in_unicode(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> None:
    """The Portal sends a session's domain in its ASCII form (xn--): the dashboard's recent
    tickets and active sessions, the ticket page and the search show it in Unicode."""
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page, base = desk.api, desk.page, desk.server.base_url
        now = time.time()
        await deliver(api, "onboarding.started", "idn", domain=IDN, at=now - 300)
        await deliver(api, "account.created", "idn", domain=IDN, at=now - 200)
        await login(page, base)
        ticket_row = page.locator("[data-recent-tickets] tr[data-ticket-id]")
        await expect(ticket_row).to_have_count(1, timeout=WAIT)
        await expect(ticket_row.locator("td").nth(1)).to_have_text(IDN_SHOWN)
        active = page.locator('[data-active] tr[data-session-id="idn"] td').first
        await expect(active).to_have_text(IDN_SHOWN, timeout=WAIT)
        assert "xn--" not in await page.locator("main").inner_text()
        await ticket_row.locator("a").first.click()
        await expect(page.locator("[data-ticket-head] [data-domain]")).to_have_text(
            IDN_SHOWN, timeout=WAIT
        )
        await page.goto(f"{base}/search?q=cer%C3%A2mica")
        found = page.locator('[data-search-results] tr[data-session-id="idn"] td').first
        await expect(found).to_have_text(IDN_SHOWN, timeout=WAIT)
        assert desk.errors == []


PLACEHOLDER = {"en-GB": "reference", "pt-PT": "referência"}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_the_search_placeholder_names_the_reference_and_fits(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> None:
    """The header's search box says a support reference finds a session too, whole: the
    placeholder's text, typed into the box, needs no more than the box's width."""
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        page = desk.page
        await login(page, desk.server.base_url)
        box = page.locator("[data-search-input]")
        placeholder = await box.get_attribute("placeholder")
        assert placeholder is not None and PLACEHOLDER[locale] in placeholder.lower(), placeholder
        await box.fill(placeholder)
        widths = await box.evaluate("(input) => [input.scrollWidth, input.clientWidth]")
        assert widths[0] <= widths[1], (placeholder, widths)
        await page.locator("header.top").screenshot(
            path=str(ARTIFACTS / f"words-search-{locale}-{width}.png")
        )
        assert await desk.fits()
        assert desk.errors == []
