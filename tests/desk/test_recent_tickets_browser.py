"""The dashboard's recent tickets in Debian's Chromium at 1280 and 390 px, in English and
pt-PT: the table fits its card (it was cut at 1280 px), every column whole, with
tickets that carry every tag Ops adds, an assignee and a long internationalised domain.
Screenshots: test-artifacts/recent-tickets-{lang}-{width}.png."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.desk.harness import browser_desk, handover
from tests.support.browser import ARTIFACTS, WAIT, login
from tests.support.signer import deliver

LONG = "xn--loja-de-cermica-e-azulejos-do-norte-e5c.example.pt"
MAIL_PENDING = {
    "ready": False,
    "items": [
        {"name": "mx", "status": "pending", "code": "mx_elsewhere", "provider": "Microsoft 365"},
        {"name": "spf", "status": "ok", "code": "ok"},
        {"name": "dmarc", "status": "ok", "code": "ok"},
        {"name": "dkim", "status": "pending", "code": "dkim_not_created", "todo": "team"},
        {"name": "autodiscover", "status": "ok", "code": "ok"},
    ],
    "changed_from": None,
}


async def seed(api: httpx.AsyncClient) -> None:
    """Six tickets: handovers with every tag Ops adds (ready for Ops, manual DNS, DKIM
    pending, mail pending), failures, one assigned to an agent."""
    now = time.time()
    for index, domain in enumerate(["loja.pt", LONG, "clinica-dentaria-do-porto.pt"]):
        await handover(api, f"done{index}", domain, MAIL_PENDING)
    for index in range(3):
        name = f"failed{index}"
        await deliver(
            api,
            "onboarding.failed",
            name,
            domain=f"falha-na-conta-numero-{index}.pt",
            at=now - 600 + index,
            code="carbonio:account.DOMAIN_EXISTS",
            stage="account_created",
        )
    listing = (await api.get("/api/v1/desk/tickets", params={"queue": "all"})).json()
    assert len(listing["tickets"]) == 6
    tagged = {tuple(ticket["tags"]) for ticket in listing["tickets"]}
    assert ("dkim_pending", "dns_manual", "mail_pending", "ready_for_ops") in tagged, tagged


async def card_figures(page: Any) -> dict[str, Any]:
    """The recent tickets' card and table: widths, and the last header cell's right edge
    against the card's inner right edge."""
    figures: dict[str, Any] = await page.evaluate(
        """() => {
          const region = document.querySelector('[data-recent-tickets]');
          const card = region.closest('.card');
          const table = region.querySelector('table');
          const last = table.querySelector('thead th:last-child').getBoundingClientRect();
          const box = card.getBoundingClientRect();
          return {
            card: [card.scrollWidth, card.clientWidth],
            region: [region.scrollWidth, region.clientWidth],
            table: Math.round(table.getBoundingClientRect().width),
            lastRight: Math.round(last.right),
            cardRight: Math.round(box.right - card.clientLeft),
          };
        }"""
    )
    return figures


TITLE = {"en-GB": "Recent tickets", "pt-PT": "Pedidos recentes"}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_the_recent_tickets_fit_their_card(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    """At 1280 px the table fits its card whole; on a phone it may be wider than the
    screen, and then scrolls inside its own region, named and reachable by keyboard."""
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        page = desk.page
        await seed(desk.api)
        await login(page, desk.server.base_url)
        rows = page.locator("[data-recent-tickets] tbody tr")
        await expect(rows).to_have_count(6, timeout=WAIT)
        card = page.locator("section.card", has=page.locator("[data-recent-tickets]"))
        await card.screenshot(path=str(ARTIFACTS / f"recent-tickets-{locale}-{width}.png"))
        figures = await card_figures(page)
        assert figures["card"][0] <= figures["card"][1], figures  # the card never overflows
        assert await desk.fits()
        region = page.locator("[data-recent-tickets]")
        await expect(region).to_have_attribute("role", "region")
        await expect(region).to_have_accessible_name(TITLE[locale])
        if width == 1280:
            # The whole table in the card: no scrolling, the last column inside, and so
            # no Tab stop on the region (nothing to scroll with the keyboard).
            assert figures["region"][0] <= figures["region"][1], figures
            assert figures["lastRight"] <= figures["cardRight"], figures
            await expect(region).not_to_have_attribute("tabindex", re.compile(".*"))
        else:
            # Scrolls inside its region: a Tab stop, focused from the keyboard, the arrows
            # bring the last column in.
            assert figures["region"][0] > figures["region"][1], figures
            await expect(region).to_have_attribute("tabindex", "0")
            await region.focus()
            assert await region.evaluate("(node) => node === document.activeElement")
            for _ in range(20):
                await page.keyboard.press("ArrowRight")
            # Arrow keys scroll smoothly: wait for the end to come.
            await page.wait_for_function(
                """() => {
                  const node = document.querySelector('[data-recent-tickets]');
                  return node.scrollLeft >= node.scrollWidth - node.clientWidth - 1;
                }""",
                timeout=WAIT,
            )
            scrolled = await region.evaluate(
                """(node) => {
                  const last = node.querySelector('thead th:last-child').getBoundingClientRect();
                  return {left: node.scrollLeft, end: node.scrollWidth - node.clientWidth,
                          lastRight: last.right, right: node.getBoundingClientRect().right};
                }"""
            )
            assert scrolled["left"] >= scrolled["end"] - 1, scrolled
            assert scrolled["lastRight"] <= scrolled["right"] + 1, scrolled
        assert desk.errors == []
