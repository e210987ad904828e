"""Fixtures for every suite: Debian's Chromium driven by Playwright, for the Desk's
browser tests (never skipped: scripts/test installs Chromium when it is missing)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.browser import ARGS, CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
