"""The Desk in Debian's Chromium (Playwright): how it is launched (the ``browser`` fixture
in tests/conftest.py uses these), where screenshots go, and a login through the form."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Locator, Page

from tests.support.credentials import PASSWORD

CHROMIUM = os.environ.get("DESK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots
WAIT = 10_000  # ms, for anything that should appear by itself


async def login(page: Page, base: str, next_path: str = "/", name: str = "ana") -> None:
    """Log in through the Desk's form with an account (OpsServer creates "ana" by
    default, password PASSWORD); back on ``next_path``."""
    await page.goto(f"{base}/login?next={next_path}")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + next_path)


async def tab_to(page: Page, target: Locator, what: str, presses: int = 80) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user reaches it; fails
    naming ``what`` when it is not reached within ``presses``."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {what}")
