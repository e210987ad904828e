"""The dashboard's breakdown card ("which customers fail") in Debian's Chromium at 1280
and 390 px, in English and pt-PT: the exact table for seven sessions sent as signed
webhooks, the property switched from the keyboard and kept in ``?by=``, a new failure
appearing live, no sideways scroll of the page (the table scrolls inside its own
region, a Tab stop only while it scrolls), every property's name whole in the closed
select, and the trend split's table opened from the keyboard. Screenshots:
test-artifacts/breakdown-{lang}-{width}.png (the page), breakdown-card-{lang}-{width}.png,
breakdown-{by}-{lang}-{width}.png and breakdown-trend-{lang}-{width}.png (the card)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.desk.harness import browser_desk
from tests.support.browser import ARTIFACTS, WAIT, login, tab_to
from tests.support.signer import deliver

Rows = list[list[str]]


async def session(
    api: httpx.AsyncClient,
    name: str,
    at: float,
    *,
    started: dict[str, Any],
    reach: int = 0,
    dns: dict[str, Any] | None = None,
    end: str | None = None,
) -> None:
    """One onboarding as the Portal sends it: started (with ``started``'s fields), then
    ``reach`` more steps (1 validated, 2 DNS applied with ``dns``, 3 account created),
    then ``end``: "completed", "failed" (at the next step) or None (still going)."""
    domain = f"{name}.pt"
    await deliver(api, "onboarding.started", name, domain=domain, at=at, **started)
    if reach >= 1:
        await deliver(api, "domain.validated", name, domain=domain, at=at + 5)
    if reach >= 2:
        await deliver(api, "dns.applied", name, domain=domain, at=at + 10, **(dns or {}))
    if reach >= 3:
        await deliver(
            api, "account.created", name, domain=domain, at=at + 15, account=f"admin@{domain}"
        )
    if end == "completed":
        await deliver(api, "onboarding.completed", name, domain=domain, at=at + 20)
    elif end == "failed":
        step = ["domain_validated", "dns_applied", "account_created", "infra_synced"][reach]
        await deliver(
            api,
            "onboarding.failed",
            name,
            domain=domain,
            at=at + 20,
            code="portal:timeout",
            reason="timed out",
            stage=step,
        )


PT14 = {"language": "pt", "release": "1.4.0"}
EN14 = {"language": "en", "release": "1.4.0"}


async def seed(api: httpx.AsyncClient) -> None:
    """Seven sessions within one hour (the trend split's one period with sessions), an
    hour or two ago: two completed, two failed, one refused, two going."""
    at = (time.time() - 3000) // 3600 * 3600 + 60
    m365 = {"mode": "cloudflare", "previous_provider": "microsoft365"}
    await session(api, "s1", at, started=PT14, reach=3, dns=m365, end="completed")
    await session(api, "s2", at + 60, started=PT14, reach=2, dns=m365, end="failed")
    none = {"mode": "cloudflare", "previous_provider": "none"}
    await session(api, "s3", at + 120, started=EN14, reach=3, dns=none, end="completed")
    manual = {"mode": "manual"}  # the Portal reads no zone: no previous provider
    en13 = {"language": "en", "release": "1.3.2"}
    await session(api, "s4", at + 180, started=en13, reach=3, dns=manual, end="failed")
    refused = {
        "language": "pt",
        "release": "1.3.2",
        "refusal": {"code": "mailbox_provider", "status": 422},
    }
    await deliver(api, "onboarding.started", "s5", domain="(rejected)", at=at + 240, **refused)
    await session(api, "s6", at + 300, started={}, reach=1)  # an older Portal: nothing said
    google = {"mode": "cloudflare", "previous_provider": "google"}
    await session(api, "s7", at + 360, started=PT14, reach=2, dns=google)


# Per property: group label, started, completed, failed, refused, conversion (of the
# sessions started and not refused); the whole last.
EXPECTED: dict[str, dict[str, Rows]] = {
    "en-GB": {
        "dns_mode": [
            ["Cloudflare", "4", "2", "1", "0", "50 %"],
            ["Manual DNS", "1", "0", "1", "0", "0 %"],
            ["Not knownthe DNS step not reached, or an older Portal", "2", "0", "0", "1", "0 %"],
            ["All sessions", "7", "2", "2", "1", "33 %"],
        ],
        "previous_provider": [
            ["Microsoft 365", "2", "1", "1", "0", "50 %"],
            ["Google", "1", "0", "0", "0", "0 %"],
            ["Nothing", "1", "1", "0", "0", "100 %"],
            [
                "Not knownmanual DNS (no zone read), the DNS step not reached, or an older Portal",
                "3",
                "0",
                "1",
                "1",
                "0 %",
            ],
            ["All sessions", "7", "2", "2", "1", "33 %"],
        ],
    },
    "pt-PT": {
        "dns_mode": [
            ["Cloudflare", "4", "2", "1", "0", "50 %"],
            ["DNS manual", "1", "0", "1", "0", "0 %"],
            [
                "Desconhecidoo passo de DNS não foi alcançado, ou um Portal antigo",
                "2",
                "0",
                "0",
                "1",
                "0 %",
            ],
            ["Todas as sessões", "7", "2", "2", "1", "33 %"],
        ],
        "previous_provider": [
            ["Microsoft 365", "2", "1", "1", "0", "50 %"],
            ["Google", "1", "0", "0", "0", "0 %"],
            ["Nada", "1", "1", "0", "0", "100 %"],
            [
                "Desconhecido"
                "DNS manual (nenhuma zona lida), o passo de DNS não foi alcançado, "
                "ou um Portal antigo",
                "3",
                "0",
                "1",
                "1",
                "0 %",
            ],
            ["Todas as sessões", "7", "2", "2", "1", "33 %"],
        ],
    },
}
LANGUAGE = {
    "en-GB": [
        ["Portuguese", "4", "1", "1", "1", "33 %"],
        ["English", "2", "1", "1", "0", "50 %"],
    ],
    "pt-PT": [
        ["Português", "4", "1", "1", "1", "33 %"],
        ["Inglês", "2", "1", "1", "0", "50 %"],
    ],
}
RELEASE = [["1.4.0", "4", "2", "1", "0", "50 %"], ["1.3.2", "2", "0", "1", "1", "0 %"]]
TEXTS = {
    "en-GB": {
        "title": "Which customers fail",
        "caption": "DNS mode: sessions started in the last 48 h",
        "heads": ["Group", "Started", "Completed", "Failed", "Refused", "Conversion"],
        "show": "Show the conversion by period",
        "period": "Period",
        "unknown": "Not known",
        "of": "of",
    },
    "pt-PT": {
        "title": "Que clientes falham",
        "caption": "Modo de DNS: sessões iniciadas na janela de 48 h",
        "heads": ["Grupo", "Iniciadas", "Concluídas", "Falhadas", "Recusadas", "Conversão"],
        "show": "Mostrar a conversão por período",
        "period": "Período",
        "unknown": "Desconhecido",
        "of": "de",
    },
}

# The accessible names of the table's region and of the conversion by period's region.
REGIONS = {
    "en-GB": ("Which customers fail, as a table", "Conversion by period and group, as a table"),
    "pt-PT": ("Que clientes falham, em tabela", "Conversão por período e grupo, em tabela"),
}


async def table(page: Page) -> Rows:
    """The card's rows (body, then the whole), each its header cell and its figures."""
    rows = page.locator("[data-breakdown-table] tr[data-group]")
    found: Rows = []
    for index in range(await rows.count()):
        found.append(await rows.nth(index).locator("th, td").all_text_contents())
    return found


async def rows_are(page: Page, by: str, expected: Rows) -> None:
    """Wait until the card shows ``by``'s table with exactly ``expected``."""
    await expect(page.locator(f'[data-breakdown-table][data-by="{by}"]')).to_be_visible(
        timeout=WAIT
    )
    deadline = time.monotonic() + WAIT / 1000
    while (found := await table(page)) != expected and time.monotonic() < deadline:
        await page.wait_for_timeout(100)
    assert found == expected


async def select_cut(page: Page) -> dict[str, list[int]]:
    """The properties whose name the closed select would cut: for each option, the width
    a select with only that option needs (its own width when nothing constrains it, so
    the text whole, padding and arrow) against the select's width; empty when all fit.
    A closed select's scrollWidth is always its clientWidth, so it cannot tell."""
    cut: dict[str, list[int]] = await page.evaluate(
        """() => {
          const select = document.querySelector('[data-breakdown-by]');
          const cut = {};
          for (const option of select.options) {
            const probe = select.cloneNode(false);
            probe.removeAttribute('data-breakdown-by');
            probe.style.cssText = 'position:absolute;left:0;top:0;width:auto;min-width:0;' +
              'max-width:none;flex:none;visibility:hidden';
            probe.append(option.cloneNode(true));
            select.parentElement.append(probe);
            const needs = probe.getBoundingClientRect().width;
            probe.remove();
            const has = select.getBoundingClientRect().width;
            // Half a pixel for layout rounding (an unconstrained select is as wide as
            // its widest option, measured 0.1-0.6 px apart).
            if (needs > has + 0.5) cut[option.textContent] = [needs, has].map(Math.round);
          }
          return cut;
        }"""
    )
    return cut


async def region_figures(region: Locator) -> dict[str, Any]:
    """A scroll region's tabindex and whether its content overflows it."""
    figures: dict[str, Any] = await region.evaluate(
        """(node) => ({
          tabindex: node.getAttribute('tabindex'),
          overflows: node.scrollWidth > node.clientWidth || node.scrollHeight > node.clientHeight,
          sizes: [node.scrollWidth, node.clientWidth, node.scrollHeight, node.clientHeight],
        })"""
    )
    return figures


async def scrolls_by_arrows(page: Page, region: Locator) -> None:
    """The focused ``region`` scrolls to its right end with ArrowRight (smoothly: wait)."""
    assert await region.evaluate("node => node === document.activeElement")
    assert await region.evaluate("node => node.scrollLeft") == 0
    for _ in range(20):
        await page.keyboard.press("ArrowRight")
    await region.evaluate(
        """(node) => new Promise((done) => {
          const check = () => node.scrollLeft >= node.scrollWidth - node.clientWidth - 1
            ? done() : requestAnimationFrame(check);
          check();
        })"""
    )


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_the_breakdown_says_which_customers_fail(
    browser: Browser, tmp_path: Path, width: int, locale: str
) -> None:
    texts, expected = TEXTS[locale], EXPECTED[locale]
    async with browser_desk(browser, tmp_path, locale, width) as desk:
        api, page = desk.api, desk.page
        await seed(api)
        await login(page, desk.server.base_url)
        card = page.locator(".breakdown-card")
        await expect(card.locator("h2")).to_have_text(texts["title"])
        await rows_are(page, "dns_mode", expected["dns_mode"])
        table_node = page.locator("[data-breakdown-table]")
        await expect(table_node.locator("caption")).to_have_text(texts["caption"])
        assert await table_node.locator("thead th").all_text_contents() == texts["heads"]
        scopes = await table_node.locator("th").evaluate_all(
            "cells => cells.map(cell => cell.getAttribute('scope'))"
        )
        assert scopes == ["col"] * 6 + ["row"] * 4
        assert await desk.fits()
        await page.screenshot(
            path=str(ARTIFACTS / f"breakdown-{locale}-{width}.png"), full_page=True
        )
        await card.screenshot(path=str(ARTIFACTS / f"breakdown-card-{locale}-{width}.png"))

        # The keyboard: Tab to the property select, arrows change it; the next Tab stop is
        # the table's region (it scrolls there when the table is wider than the card).
        select = page.locator("[data-breakdown-by]")
        await tab_to(page, select, "the breakdown's select")
        await page.keyboard.press("ArrowDown")
        await rows_are(page, "previous_provider", expected["previous_provider"])
        assert page.url.endswith("/?by=previous_provider")
        await card.screenshot(
            path=str(ARTIFACTS / f"breakdown-previous_provider-{locale}-{width}.png")
        )
        await page.keyboard.press("ArrowDown")
        await rows_are(
            page, "language", [*LANGUAGE[locale], *unknown_and_total(locale, "language")]
        )
        await page.keyboard.press("ArrowDown")
        await rows_are(page, "release", [*RELEASE, *unknown_and_total(locale, "release")])
        assert page.url.endswith("/?by=release")
        # Every property's name whole in the closed select (pt-PT's "Fornecedor de
        # correio anterior" was cut at 390 px).
        assert await select_cut(page) == {}
        region = page.locator("[data-breakdown-region]")
        await expect(region).to_have_attribute("role", "region")
        await expect(region).to_have_accessible_name(REGIONS[locale][0])
        # The table's region is a Tab stop only while it scrolls: the whole table fits
        # at 1280 px, on a phone it is wider than the card and the arrows scroll it.
        if width == 1280:
            await expect(region).not_to_have_attribute("tabindex", re.compile(".*"))
            assert not (await region_figures(region))["overflows"]
        else:
            await expect(region).to_have_attribute("tabindex", "0")
            assert (await region_figures(region))["overflows"]
            await page.keyboard.press("Tab")
            await scrolls_by_arrows(page, region)
        assert await desk.fits()
        # Then the counts that open their sessions, row by row.
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.getAttribute('data-focus-key')")
        assert focused == "count:value:1.4.0:started"

        # Then the trend split: its button, Enter, and its table's region (a Tab stop
        # only while it scrolls).
        toggle = page.locator("[data-breakdown-trend-toggle]")
        await tab_to(page, toggle, "the conversion by period's button")
        await expect(toggle).to_have_text(texts["show"])
        await page.keyboard.press("Enter")
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        trend = page.locator("[data-breakdown-trend-region]")
        await expect(trend).to_be_visible()
        await expect(trend).to_have_accessible_name(REGIONS[locale][1])
        if width == 1280:
            await expect(trend).not_to_have_attribute("tabindex", re.compile(".*"))
            assert not (await region_figures(trend))["overflows"]
        else:
            await expect(trend).to_have_attribute("tabindex", "0")
            assert (await region_figures(trend))["overflows"]
            await page.keyboard.press("Tab")
            await scrolls_by_arrows(page, trend)
        trend_table = trend.locator('[data-breakdown-trend-table][data-by="release"]')
        heads = await trend_table.locator("thead th").all_text_contents()
        assert heads == [texts["period"], "1.4.0", "1.3.2", texts["unknown"]]
        await expect(trend_table.locator("tbody tr")).to_have_count(1)
        cells = await trend_table.locator("tbody td").all_text_contents()
        assert cells == [
            f"50 % (2 {texts['of']} 4)",
            f"0 % (0 {texts['of']} 1)",
            f"0 % (0 {texts['of']} 1)",
        ]
        await card.screenshot(path=str(ARTIFACTS / f"breakdown-trend-{locale}-{width}.png"))
        assert await desk.fits()

        # Live: a new session in manual mode that fails moves the figures by itself.
        await page.goto(desk.server.base_url + "/?by=dns_mode&hours=48")
        await rows_are(page, "dns_mode", expected["dns_mode"])
        # The window resized: the region becomes a Tab stop when it starts to scroll,
        # and stops being one when it no longer does.
        other = 390 if width == 1280 else 1280
        await page.set_viewport_size({"width": other, "height": 900})
        if other == 390:
            await expect(region).to_have_attribute("tabindex", "0")
        else:
            await expect(region).not_to_have_attribute("tabindex", re.compile(".*"))
        assert (await region_figures(region))["overflows"] == (other == 390)
        await page.set_viewport_size({"width": width, "height": 900})
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        late = {"language": "en", "release": "1.4.0"}
        await session(
            api, "s8", time.time() - 60, started=late, reach=2, dns={"mode": "manual"}, end="failed"
        )
        manual, whole = expected["dns_mode"][1], expected["dns_mode"][3]
        await rows_are(
            page,
            "dns_mode",
            [
                expected["dns_mode"][0],
                [manual[0], "2", "0", "2", "0", "0 %"],
                expected["dns_mode"][2],
                [whole[0], "8", "2", "3", "1", "29 %"],
            ],
        )
        assert await desk.fits()
        assert desk.errors == []


WHY = {
    "en-GB": {
        "language": "Not knownneither the page nor the browser said, or an older Portal",
        "release": "Not knownan older Portal",
    },
    "pt-PT": {
        "language": "Desconhecidonem a página nem o navegador o indicaram, ou um Portal antigo",
        "release": "Desconhecidoum Portal antigo",
    },
}


def unknown_and_total(locale: str, by: str) -> Rows:
    """The language and release splits' last rows: the one session no Portal said
    anything of (s6), then the whole."""
    total = "Todas as sessões" if locale == "pt-PT" else "All sessions"
    return [[WHY[locale][by], "1", "0", "0", "0", "0 %"], [total, "7", "2", "2", "1", "33 %"]]


# The drill-down of a breakdown count: its heading, total and session ids.
GROUP_LIST = {
    "en-GB": {
        "cloudflare": "Failed sessions · DNS mode: Cloudflare · last 48 h",
        "unknown": "Refused attempts · DNS mode: Not known · last 48 h",
        "total": "Failed sessions · last 48 h",
        "started": "Sessions started · DNS mode: Cloudflare · last 48 h",
        "sessions": "{n} sessions",
        "one": "1 session",
        "link": "{n} failed sessions, Cloudflare",
        "link1": "1 failed session, Cloudflare",
    },
    "pt-PT": {
        "cloudflare": "Sessões falhadas · Modo de DNS: Cloudflare · últimas 48 h",
        "unknown": "Tentativas recusadas · Modo de DNS: Desconhecido · últimas 48 h",
        "total": "Sessões falhadas · últimas 48 h",
        "started": "Sessões iniciadas · Modo de DNS: Cloudflare · últimas 48 h",
        "sessions": "{n} sessões",
        "one": "1 sessão",
        "link": "{n} sessões falhadas, Cloudflare",
        "link1": "1 sessão falhada, Cloudflare",
    },
}


async def listed_ids(page: Page) -> list[str]:
    """The drill-down's session ids once its rows are drawn, newest activity first."""
    rows = page.locator("[data-cohort] tr[data-session-id]")
    await expect(rows.first).to_be_visible(timeout=WAIT)
    return [str(await row.get_attribute("data-session-id")) for row in await rows.all()]


@pytest.mark.parametrize("locale", ["en-GB", "pt-PT"])
async def test_each_count_opens_its_sessions_and_keeps_the_focus_live(
    browser: Browser, tmp_path: Path, locale: str
) -> None:
    """Tab to Cloudflare's failed count (a link named by count, state and group); a live
    failure redraws the table and the focus stays on that link, now 2; Enter opens its
    sessions, the heading naming the group and the CSV link carrying it. Cloudflare's
    started count opens its five sessions, each in its own state; the unknown group's
    refused count and the whole's failed count open theirs."""
    texts = GROUP_LIST[locale]
    async with browser_desk(browser, tmp_path, locale, 1280) as desk:
        api, page, base = desk.api, desk.page, desk.server.base_url
        await seed(api)
        await login(page, base)
        await rows_are(page, "dns_mode", EXPECTED[locale]["dns_mode"])
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        link = page.locator('tr[data-group="value:cloudflare"] a[data-count="failed"]')
        await tab_to(page, link, "Cloudflare's failed count")
        await expect(link).to_have_accessible_name(texts["link1"])
        cloudflare = {"mode": "cloudflare", "previous_provider": "google"}
        await session(
            api, "s9", time.time() - 60, started=PT14, reach=2, dns=cloudflare, end="failed"
        )
        cells = EXPECTED[locale]["dns_mode"]
        whole = cells[3]
        await rows_are(
            page,
            "dns_mode",
            [
                [cells[0][0], "5", "2", "2", "0", "40 %"],
                cells[1],
                cells[2],
                [whole[0], "8", "2", "3", "1", "29 %"],
            ],
        )
        focused = await page.evaluate(
            """() => [document.activeElement.getAttribute('data-focus-key'),
                      document.activeElement.textContent]"""
        )
        assert focused == ["count:value:cloudflare:failed", "2"]
        await expect(link).to_have_accessible_name(texts["link"].format(n=2))
        await page.keyboard.press("Enter")
        await page.wait_for_url(
            base + "/funnel/sessions?hours=48&state=failed&by=dns_mode&value=cloudflare"
        )
        await expect(page.locator("[data-cohort-title]")).to_have_text(texts["cloudflare"])
        assert await listed_ids(page) == ["s9", "s2"]
        await expect(page.locator("[data-cohort-total]")).to_have_text(
            texts["sessions"].format(n=2)
        )
        await expect(page.locator("[data-cohort-csv]")).to_have_attribute(
            "href",
            "/api/v1/onboard/funnel/sessions.csv?hours=48&state=failed&by=dns_mode&value=cloudflare",
        )
        csv = await api.get(
            "/api/v1/onboard/funnel/sessions.csv",
            params={"hours": 48, "state": "failed", "by": "dns_mode", "value": "cloudflare"},
        )
        assert [line.split(",")[0] for line in csv.text.splitlines()[1:]] == ["s9", "s2"]
        await page.screenshot(path=str(ARTIFACTS / f"breakdown-list-{locale}.png"), full_page=True)

        await page.go_back()
        unknown = page.locator('tr[data-group="unknown"] a[data-count="refused"]')
        await expect(unknown).to_have_text("1", timeout=WAIT)
        await unknown.click()
        await page.wait_for_url(
            base + "/funnel/sessions?hours=48&state=refused&by=dns_mode&group=unknown"
        )
        await expect(page.locator("[data-cohort-title]")).to_have_text(texts["unknown"])
        assert await listed_ids(page) == ["s5"]
        await expect(page.locator("[data-cohort-total]")).to_have_text(texts["one"])

        await page.go_back()
        started = page.locator('tr[data-group="value:cloudflare"] a[data-count="started"]')
        await expect(started).to_have_text("5", timeout=WAIT)
        await started.click()
        await page.wait_for_url(
            base + "/funnel/sessions?hours=48&state=started&by=dns_mode&value=cloudflare"
        )
        await expect(page.locator("[data-cohort-title]")).to_have_text(texts["started"])
        assert await listed_ids(page) == ["s9", "s7", "s3", "s2", "s1"]
        states = await page.locator("[data-cohort] [data-state]").evaluate_all(
            "nodes => nodes.map(node => node.getAttribute('data-state'))"
        )
        assert states[0] == "failed" and states[2:] == ["completed", "failed", "completed"]
        assert states[1] in ("moving", "stuck", "abandoned")  # s7, still going

        await page.go_back()
        total = page.locator('tr[data-group="total"] a[data-count="failed"]')
        await expect(total).to_have_text("3", timeout=WAIT)
        await total.click()
        await page.wait_for_url(base + "/funnel/sessions?hours=48&state=failed")
        await expect(page.locator("[data-cohort-title]")).to_have_text(texts["total"])
        assert await listed_ids(page) == ["s9", "s4", "s2"]
        assert desk.errors == []


@pytest.mark.parametrize("locale", ["pt-PT", "en-GB"])
async def test_the_card_at_320_px(browser: Browser, tmp_path: Path, locale: str) -> None:
    """At 320 px (the narrowest phone) every property's name shows whole in the closed
    select, its label whole too, and the page never scrolls sideways; the table scrolls
    in its region, and a live redraw keeps how far it was scrolled."""
    async with browser_desk(browser, tmp_path, locale, 320) as desk:
        page = desk.page
        await seed(desk.api)
        await login(page, desk.server.base_url)
        await page.goto(desk.server.base_url + "/?by=previous_provider")
        await rows_are(page, "previous_provider", EXPECTED[locale]["previous_provider"])
        assert await select_cut(page) == {}
        label_cut = await page.evaluate(
            """() => {
              const label = document.querySelector('.breakdown-card .window span');
              const card = document.querySelector('.breakdown-card').getBoundingClientRect();
              const box = label.getBoundingClientRect();
              return [label.scrollWidth > label.clientWidth,
                      box.left < card.left || box.right > card.right];
            }"""
        )
        assert label_cut == [False, False]
        select = page.locator("[data-breakdown-by]")
        box, card = (
            await select.bounding_box(),
            await page.locator(".breakdown-card").bounding_box(),
        )
        assert box is not None and card is not None
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
        assert await desk.fits()
        await page.locator(".breakdown-card").screenshot(
            path=str(ARTIFACTS / f"breakdown-card-{locale}-320.png")
        )
        region = page.locator("[data-breakdown-region]")
        await expect(region).to_have_attribute("tabindex", "0")
        await region.evaluate("node => { node.scrollLeft = 80; }")
        scrolled = await region.evaluate("node => node.scrollLeft")
        assert scrolled > 0
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        m365 = {"mode": "cloudflare", "previous_provider": "microsoft365"}
        await session(
            desk.api, "s9", time.time() - 60, started=PT14, reach=2, dns=m365, end="failed"
        )
        m365_row = page.locator('tr[data-group="value:microsoft365"] a[data-count="failed"]')
        await expect(m365_row).to_have_text("2", timeout=WAIT)
        assert await region.evaluate("node => node.scrollLeft") == scrolled
        assert await desk.fits()
        assert desk.errors == []
