"""The axe-core helper (tests/support/axe.py) finds what it should: a page with an image
without text and a field without a label has those two serious or critical violations, and
the same page fixed has none."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.support.axe import axe_violations

BROKEN = """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input id="q"></main></body></html>"""
FIXED = """<!doctype html><html lang="en"><head><title>t</title></head><body><main>
<img alt="logo" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<label for="q">Query</label><input id="q"></main></body></html>"""


async def test_axe_reports_serious_violations_and_none_on_a_fixed_page(browser: Browser) -> None:
    page = await browser.new_page()
    try:
        await page.set_content(BROKEN)
        found = await axe_violations(page)
        assert sorted(v["id"] for v in found) == ["image-alt", "label"]
        assert {v["impact"] for v in found} <= {"serious", "critical"}
        await page.set_content(FIXED)
        assert await axe_violations(page) == []
    finally:
        await page.close()
