"""The Desk in Debian's Chromium (Playwright), against Ops under uvicorn on loopback:

- a Desk stream cut three times in the middle of a 150-event burst (a TCP relay between
  the browser and Ops drops every connection): the page resumes from its last id and
  shows every event exactly once; the search results, cut the same way, end with every
  matching session, without a reload;
- hostile text in every event field the Desk shows (domain, data keys and values, nested
  lists, a failure's reason and stage) renders as text on every page, with the CSP sent,
  nothing injected and nothing run.
"""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from tests.desk.harness import FAST
from tests.support.apps import OpsServer
from tests.support.browser import login
from tests.support.credentials import TOKEN
from tests.support.signer import deliver

WAIT = 15_000
HAPPY = ["onboarding.started", "domain.validated", "dns.applied", "account.created", "infra.synced"]


class Relay:
    """A TCP relay on 127.0.0.1 in front of Ops; cut() drops every open connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.cuts = 0
        self.down = False  # while True, new connections are reset too
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()  # Ops unreachable: the connection is reset at once
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self.cuts += 1
        for writer in list(self._writers):
            writer.transport.abort()  # RST: the connection dies mid-stream

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def test_stream_cut_mid_burst_shows_every_event_once(
    browser: Browser, tmp_path: Path
) -> None:
    server = OpsServer(
        db_path=tmp_path / "ops.db",
        config=dataclasses.replace(FAST, retry_ms=200),
        accounts=("ana",),
    )
    await server.start()
    relay = Relay(server.port)
    await relay.start()
    base = f"http://127.0.0.1:{relay.port}"
    context = await browser.new_context()
    errors: list[str] = []
    api = httpx.AsyncClient(base_url=server.base_url, timeout=10)
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, base)
        await deliver(api, "onboarding.started", "burst", domain="rajada.pt")
        # The burst starts while the page is still loading its snapshot and connecting:
        # events newer than the snapshot that arrive before it must survive it.
        await page.goto(base + "/sessions/burst", wait_until="commit")
        entries = page.locator("[data-timeline] li.entry")
        posted = 1
        for n in range(149):
            await deliver(api, HAPPY[n % len(HAPPY)], "burst", domain="rajada.pt", n=n)
            posted += 1
            if n in (30, 70, 110):
                relay.cut()  # mid-burst: the browser's stream dies with a reset
        await expect(entries).to_have_count(posted, timeout=WAIT)
        ids = await entries.evaluate_all("els => els.map(e => e.dataset.entryId)")
        await asyncio.sleep(1.0)  # nothing more may trickle in
        assert await entries.count() == posted == 150
        assert len(set(ids)) == len(ids) == 150
        assert relay.cuts == 3
        assert errors == []
        print(
            "stream cut figures:",
            {"events": posted, "shown": len(ids), "distinct": len(set(ids)), "cuts": relay.cuts},
        )
    finally:
        await api.aclose()
        await context.close()
        await relay.stop()
        await server.stop()


async def test_search_results_follow_a_cut_stream_without_gaps(
    browser: Browser, tmp_path: Path
) -> None:
    server = OpsServer(
        db_path=tmp_path / "ops.db",
        config=dataclasses.replace(FAST, retry_ms=200),
        accounts=("ana",),
    )
    await server.start()
    relay = Relay(server.port)
    await relay.start()
    base = f"http://127.0.0.1:{relay.port}"
    context = await browser.new_context()
    errors: list[str] = []
    api = httpx.AsyncClient(base_url=server.base_url, timeout=10)
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, base, "/search?q=rajada")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "live", timeout=WAIT
        )
        await page.evaluate("window.notReloaded = true")
        rows = page.locator("[data-search-results] tr[data-session-id]")
        sessions = [f"r{n:02d}" for n in range(18)]
        for n, session in enumerate(sessions):
            await deliver(api, "onboarding.started", session, domain=f"rajada-{n:02d}.pt")
            if n in (5, 11):
                relay.cut()  # the stream (and any refetch in flight) dies with a reset
        # The last one while Ops is unreachable: only the resumed stream can tell the page.
        relay.cut()
        relay.down = True
        await deliver(api, "onboarding.started", "r18", domain="rajada-18.pt")
        sessions.append("r18")
        await expect(page.locator("[data-live-status]")).to_have_attribute(
            "data-state", "reconnecting", timeout=WAIT
        )
        await asyncio.sleep(0.5)
        relay.down = False
        await expect(rows).to_have_count(len(sessions), timeout=WAIT)
        await asyncio.sleep(1.5)  # nothing more may arrive, no error replaces the rows
        shown = await rows.evaluate_all("els => els.map(e => e.dataset.sessionId)")
        assert sorted(shown) == sessions
        assert await page.evaluate("window.notReloaded") is True
        assert await page.locator("[data-search-results] .error").count() == 0
        assert relay.cuts == 3
        assert errors == []
    finally:
        await api.aclose()
        await context.close()
        await relay.stop()
        await server.stop()


PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "javascript:alert(4)",
    "<iframe src=javascript:alert(5)></iframe>",
]


async def test_hostile_text_in_every_field_renders_as_text(
    browser: Browser, tmp_path: Path
) -> None:
    server = OpsServer(db_path=tmp_path / "ops.db", config=FAST, accounts=("ana",))
    await server.start()
    context = await browser.new_context()
    dialogs: list[str] = []
    errors: list[str] = []
    api = httpx.AsyncClient(base_url=server.base_url, timeout=10)
    try:
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.on("pageerror", lambda error: errors.append(str(error)))
        await login(page, server.base_url)
        for n, payload in enumerate(PAYLOADS):
            session = f"x{n}"
            fields: dict[str, Any] = {
                payload: payload,
                "nested": [payload, {payload: [payload]}],
                "admin": payload,
                "display_name": payload,
            }
            await deliver(api, "onboarding.started", session, domain=payload, **fields)
            await deliver(api, "account.created", session, domain=payload, **fields)
            await deliver(
                api,
                "onboarding.failed",
                session,
                domain=payload,
                reason=payload,
                stage=payload,
                **fields,
            )
        tickets = (
            await api.get("/api/v1/desk/tickets", headers={"authorization": f"Bearer {TOKEN}"})
        ).json()
        # Each page with the payloads it must show: the lists show every session's.
        pages: dict[str, list[str]] = {"/": PAYLOADS, "/tickets": PAYLOADS}
        for ticket in tickets["tickets"]:
            pages[f"/tickets/{ticket['id']}"] = [PAYLOADS[int(ticket["session_id"][1:])]]
        for n, payload in enumerate(PAYLOADS):
            pages[f"/sessions/x{n}"] = [payload]
        assert len(pages) == 2 + 2 * len(PAYLOADS)
        for path, shown in pages.items():
            response = await page.goto(server.base_url + path)
            assert response is not None and response.status == 200
            assert "script-src 'self'" in response.headers["content-security-policy"]
            await expect(page.locator("[data-live-status]")).to_have_attribute(
                "data-state", "live", timeout=WAIT
            )
            for payload in shown:
                await expect(page.get_by_text(payload, exact=False).first).to_be_attached(
                    timeout=WAIT
                )
            # The dashboard draws one SVG of its own (the conversion trend); any other is
            # injected.
            injected = page.locator(
                "img, svg:not([data-trend-chart]), iframe, script:not([src]), [onerror], [onload]"
            )
            assert await injected.count() == 0, path
            assert await page.locator("svg[data-trend-chart]").count() <= 1, path
        assert dialogs == []
        assert errors == []
        print(
            "xss figures:",
            {
                "payloads": len(PAYLOADS),
                "pages": len(pages),
                "events": 3 * len(PAYLOADS),
                "injected": 0,
                "dialogs": 0,
            },
        )
    finally:
        await api.aclose()
        await context.close()
        await server.stop()
