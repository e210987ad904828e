"""axe-core in a Playwright page: the accessibility rules of WCAG 2.0/2.1 A and AA.

axe-core comes from npm (tests/axe/package.json, pinned in its package-lock.json);
scripts/test installs it with ``npm ci --prefix tests/axe`` when it is missing. Any browser
test (the Portal's wizard, the Desk's pages) injects it with ``add_script_tag`` and runs
``axe.run`` on the page as it is at that moment. A page with a Content-Security-Policy
(both services send ``script-src 'self'``) refuses the injected script: create the
browser context with ``bypass_csp=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_JS = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SEVERE = ("serious", "critical")


async def axe_violations(
    page: Page, *, tags: tuple[str, ...] = WCAG_AA, impacts: tuple[str, ...] = SEVERE
) -> list[dict[str, Any]]:
    """The page's violations of ``tags`` with one of ``impacts``, each as
    ``{"id", "impact", "help", "targets"}`` (targets: the CSS selectors of the nodes)."""
    if not AXE_JS.is_file():
        raise FileNotFoundError(
            f"{AXE_JS} is missing: run `npm ci --prefix tests/axe` (scripts/test does)"
        )
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE_JS))
    result: dict[str, Any] = await page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return {violations: r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map((n) => n.target.join(" ")),
            }))};
        }""",
        list(tags),
    )
    return [v for v in result["violations"] if v["impact"] in impacts]
