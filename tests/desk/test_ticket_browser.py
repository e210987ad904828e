"""Two agents on one ticket in real browsers (Debian's Chromium through Playwright, two
browser contexts, two accounts), against Ops under uvicorn on 127.0.0.1: one assigns and
writes a note, the other sees both appear without a reload; a stale edit shows the
conflict instead of overwriting; the page works from the keyboard and at phone width.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.desk.harness import FAST, TOKEN, OpsServer, browser_desk
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.signer import deliver

NOTE = 'Liguei ao cliente.\n<img src=x onerror=alert(1)> "fica" & <b>não</b>'
PHONE: ViewportSize = {"width": 390, "height": 844}
# Ops' automatic note on a completed onboarding, as the Desk words it in each language.
READY_NOTE = {
    "en-GB": "Onboarding completed: the mail domain is ready for the operations team.",
    "pt-PT": "Adesão concluída: o domínio de correio está pronto para a equipa de operações.",
}


async def tab_to(page: Page, selector: str, presses: int = 40) -> None:
    """Move the focus with Tab only, until ``selector`` has it (no mouse)."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


async def test_two_agents_work_one_ticket_live(browser: Browser, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    server = OpsServer(
        db_path=tmp_path / "ops.db",
        config=dataclasses.replace(FAST, retry_ms=300),
        accounts=("ana", "rui"),
    )
    await server.start()
    base = server.base_url
    api = httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {TOKEN}"})
    desk = await browser.new_context(locale="pt-PT", viewport={"width": 1280, "height": 900})
    phone = await browser.new_context(locale="en-GB", viewport=PHONE, has_touch=True)
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        await deliver(api, "onboarding.started", "s1", domain="loja.pt")
        await deliver(api, "account.created", "s1", domain="loja.pt")
        listing = (await api.get("/api/v1/desk/tickets", params={"session_id": "s1"})).json()
        ticket_id = listing["tickets"][0]["id"]
        path = f"/tickets/{ticket_id}"

        ana, rui = await desk.new_page(), await phone.new_page()
        for page in (ana, rui):
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            page.on("pageerror", lambda error: errors.append(str(error)))
        await login(ana, base, path, name="ana")
        await login(rui, base, path, name="rui")
        for page in (ana, rui):
            await expect(page.locator("[data-live-status]")).to_have_attribute(
                "data-state", "live", timeout=WAIT
            )
            await expect(page.locator("[data-assignee]")).to_have_count(1)

        # Ana takes the ticket and writes a note, from the keyboard only.
        await ana.locator("[data-ticket-actions] [data-assign-me]").wait_for()
        await tab_to(ana, "[data-assign-me]")
        outline = await ana.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # the focus is visible
        await ana.keyboard.press("Enter")  # fills the assignee; saving is one button
        await expect(ana.locator("[data-action-status]")).to_have_text(
            "Ainda não guardado: “Guardar alterações” aplica-o."
        )
        await expect(ana.locator("[data-assignee]")).to_have_text("ninguém")  # not saved
        await tab_to(ana, "[data-ticket-actions] button[type=submit]")
        await ana.keyboard.press("Enter")
        await expect(ana.locator("[data-assignee]")).to_have_text("ana", timeout=WAIT)
        await tab_to(ana, "textarea[name=text]")
        await ana.keyboard.type(NOTE)
        await ana.keyboard.press("Control+Enter")

        # Rui sees both without a reload: the assignee, the entries, the note as text.
        await expect(rui.locator("[data-assignee]")).to_have_text("ana", timeout=WAIT)
        assignment = rui.locator('li[data-activity="assignee"] strong')
        await expect(assignment).to_have_text("ana: assignee nobody → ana", timeout=WAIT)
        note = rui.locator('li[data-activity="note"]')
        await expect(note.locator("strong")).to_have_text("Note by ana", timeout=WAIT)
        await expect(note.locator(".note-text")).to_have_text(NOTE)
        assert await rui.locator("img, b").count() == 0  # hostile text stayed text
        assert await rui.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await rui.screenshot(path=str(ARTIFACTS / "desk-two-agents-rui-phone.png"), full_page=True)

        # A stale edit: Rui starts to resolve it; meanwhile Ana sets it pending.
        await rui.select_option("[data-ticket-actions] select[name=status]", "resolved")
        await ana.select_option("[data-ticket-actions] select[name=status]", "pending")
        await ana.click("[data-ticket-actions] button[type=submit]")
        await expect(ana.locator("[data-status]")).to_have_text("pendente", timeout=WAIT)
        await expect(rui.locator("[data-status]")).to_have_text("pending", timeout=WAIT)
        await rui.click("[data-ticket-actions] button[type=submit]")
        conflict = rui.locator("[data-conflict]")
        await expect(conflict).to_be_visible(timeout=WAIT)
        await expect(conflict).to_contain_text("Status open → pending")
        await expect(conflict).to_contain_text("You wanted: Status open → resolved")
        await expect(rui.locator("select[name=status]")).to_have_value("pending")
        await rui.screenshot(path=str(ARTIFACTS / "desk-two-agents-conflict.png"), full_page=True)
        await ana.screenshot(path=str(ARTIFACTS / "desk-two-agents-ana.png"), full_page=True)
        with sqlite3.connect(server.db_path) as conn:
            status, assignee = conn.execute(
                "select t.status, a.name from tickets t join accounts a on a.id = t.assignee_id"
            ).fetchone()
        assert (status, assignee) == ("pending", "ana")  # nothing overwritten

        # The list: counts per status and the "mine" filter, at phone width too.
        await rui.goto(base + "/tickets?assignee=none")
        await expect(rui.locator("[data-tickets] .muted")).to_have_text("No tickets.", timeout=WAIT)
        await ana.goto(base + "/tickets?assignee=me")
        rows = ana.locator("[data-tickets] tr[data-ticket-id]")
        await expect(rows).to_have_count(1, timeout=WAIT)
        await expect(ana.locator('[data-count-status="pending"]')).to_have_text("pendente (1)")
        # Bare, the list opens on "needs action": this account.created ticket is not in it.
        await rui.goto(base + "/tickets")
        await expect(rui.locator('[data-queue="needs_action"]')).to_have_text(
            "Needs action (0)", timeout=WAIT
        )
        await rui.goto(base + "/tickets?queue=all")
        await expect(rui.locator("[data-tickets] tr[data-ticket-id]")).to_have_count(1)
        assert await rui.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await rui.screenshot(path=str(ARTIFACTS / "desk-tickets-phone.png"), full_page=True)
        assert dialogs == []
        assert errors == []
    finally:
        await api.aclose()
        await desk.close()
        await phone.close()
        await server.stop()


@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_ops_ready_note_is_in_the_page_language(
    browser: Browser, tmp_path: Path, locale: str
) -> None:
    """The note Ops writes on a completed onboarding was English in a pt-PT Desk.
    Screenshot: test-artifacts/ticket-note-{lang}.png."""
    async with browser_desk(browser, tmp_path, locale, 1280) as desk:
        await deliver(desk.api, "account.created", "s1", domain="loja.pt")
        await deliver(desk.api, "onboarding.completed", "s1", domain="loja.pt")
        ticket = (await desk.api.get("/api/v1/desk/tickets/1")).json()
        [note] = [entry for entry in ticket["timeline"] if entry["kind"] == "note"]
        assert (note["note_kind"], note["text"]) == (
            "ready_for_ops",
            "Onboarding completed: the mail domain is ready for operations (ready_for_ops).",
        )
        await login(desk.page, desk.server.base_url, "/tickets/1")
        body = desk.page.locator('li[data-kind="note"] .entry-body')
        await expect(body).to_have_text(READY_NOTE[locale], timeout=WAIT)
        assert await body.get_attribute("lang") is None
        shown = await desk.page.locator("main").inner_text()
        assert "ready_for_ops" not in shown and "timeline.note" not in shown
        await desk.page.screenshot(
            path=str(ARTIFACTS / f"ticket-note-{locale}.png"), full_page=True
        )
        assert desk.errors == []
