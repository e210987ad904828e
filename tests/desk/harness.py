"""Test harness for the Desk: Ops under a real uvicorn (tests.support.apps.OpsServer) with
a client, and a small Server-Sent Events reader that also sees comments (heartbeats)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from playwright.async_api import Browser, BrowserContext, Page

from tests.support.apps import CHEAP, OpsServer, ops_settings, user_command
from tests.support.browser import ARTIFACTS
from tests.support.credentials import KEY, PASSWORD, TOKEN
from tests.support.signer import deliver
from vm122_ops.desk.broker import Broker, StreamConfig
from vm122_ops.settings import Settings

XSS = "<img src=x onerror=alert(1)>"  # hostile text an event may carry
FAST = StreamConfig(heartbeat_seconds=15, retry_ms=500, funnel_interval=0.2, send_timeout=2)


async def desk_ops(tmp_path: Path) -> OpsServer:
    """Ops started for a browser test: quick stream retries, one account (ana), and the
    screenshots folder made."""
    ARTIFACTS.mkdir(exist_ok=True)
    server = OpsServer(
        db_path=tmp_path / "ops.db",
        config=dataclasses.replace(FAST, retry_ms=300),
        accounts=("ana",),
    )
    await server.start()
    return server


@dataclass
class BrowserDesk:
    """One browser test's Desk: Ops (``desk_ops``), a signed-delivery client, a Chromium
    context at one locale and width, its page, and the page's script errors."""

    server: OpsServer
    api: httpx.AsyncClient
    context: BrowserContext
    page: Page
    errors: list[str]

    async def fits(self) -> bool:
        """The page is no wider than the window (no horizontal scroll)."""
        return bool(
            await self.page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
        )


@asynccontextmanager
async def browser_desk(
    browser: Browser, tmp_path: Path, locale: str, width: int
) -> AsyncIterator[BrowserDesk]:
    """Ops and a Chromium page at ``locale`` and ``width`` (900 px high) for one test;
    everything closed after it, whatever happened."""
    server = await desk_ops(tmp_path)
    context = await browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    api = httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield BrowserDesk(server, api, context, page, errors)
    finally:
        await api.aclose()
        await context.close()
        await server.stop()


@dataclass
class Ops:
    server: OpsServer
    client: httpx.AsyncClient
    posted: list[int] = field(default_factory=list)

    @property
    def broker(self) -> Broker:
        return self.server.broker

    async def post(self, event_type: str, session_id: str, **kwargs: Any) -> dict[str, Any]:
        """A signed event, accepted; Ops' JSON answer (its id)."""
        return await deliver(self.client, event_type, session_id, **kwargs)


@dataclass
class SSE:
    """One dispatched event, or a comment line (kind "comment")."""

    kind: str
    data: str = ""
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SSEReader:
    """Parses a text/event-stream response in a task, so a read can time out safely."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._items: asyncio.Queue[SSE | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def aclose(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        await self.response.aclose()

    async def _pump(self) -> None:
        event: dict[str, Any] = {}
        data: list[str] = []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self._items.put_nowait(SSE("comment", line[1:].strip()))
                elif line == "":
                    if data or "event" in event:
                        self._items.put_nowait(
                            SSE(
                                event.get("event", "message"),
                                "\n".join(data),
                                event.get("id"),
                                event.get("retry"),
                            )
                        )
                    elif "retry" in event:
                        self._items.put_nowait(SSE("retry", retry=event["retry"]))
                    event, data = {}, []
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    elif name == "retry":
                        event["retry"] = int(value)
                    else:
                        event[name] = value
        except httpx.HTTPError:
            pass
        finally:
            self._items.put_nowait(None)

    async def next(self, within: float = 5.0) -> SSE:
        async with asyncio.timeout(within):
            item = await self._items.get()
        if item is None:
            self._items.put_nowait(None)
            raise EOFError("the stream ended")
        return item

    async def next_event(self, within: float = 5.0) -> SSE:
        """The next dispatched event, skipping comments and retry-only blocks."""
        deadline = time.monotonic() + within
        while True:
            item = await self.next(max(0.01, deadline - time.monotonic()))
            if item.kind not in ("comment", "retry"):
                return item

    async def next_onboard(self, within: float = 5.0) -> SSE:
        deadline = time.monotonic() + within
        while True:
            item = await self.next_event(max(0.01, deadline - time.monotonic()))
            if item.kind == "onboard":
                return item


async def open_stream(
    client: httpx.AsyncClient,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, SSEReader]:
    request = client.build_request("GET", "/api/v1/stream", params=params, headers=headers)
    response = await client.send(request, stream=True)
    return response, SSEReader(response)


def settings_for(db_path: Path) -> Settings:
    return ops_settings(db_path)


async def login(
    client: httpx.AsyncClient, name: str, password: str = PASSWORD, nxt: str = "/"
) -> httpx.Response:
    """POST the login form the way the Desk's page does (same origin)."""
    return await client.post(
        "/login",
        data={"name": name, "password": password, "next": nxt},
        headers={"origin": str(client.base_url).rstrip("/")},
    )


async def handover(
    api: httpx.AsyncClient, session_id: str, domain: str, mail: dict[str, Any]
) -> int:
    """A completed onboarding with manual DNS, DKIM pending and the given mail check (not
    ready): its ticket carries dkim_pending, dns_manual, mail_pending and ready_for_ops.
    Returns the ticket's id."""
    now = time.time()
    await deliver(api, "onboarding.started", session_id, domain=domain, at=now - 900)
    await deliver(
        api,
        "dns.applied",
        session_id,
        domain=domain,
        at=now - 880,
        mode="manual",
        provider="customer",
        records=[{"type": "MX", "name": domain, "content": "mx.example.net", "priority": 10}],
        dkim={"status": "pending", "operations": ["create the DKIM key"]},
    )
    await deliver(api, "account.created", session_id, domain=domain, at=now - 860)
    await deliver(api, "onboarding.completed", session_id, domain=domain, at=now - 840)
    await deliver(api, "mail.checked", session_id, domain=domain, at=now - 830, **mail)
    listing = (await api.get("/api/v1/desk/tickets", params={"session_id": session_id})).json()
    ticket: int = listing["tickets"][0]["id"]
    return ticket


__all__ = [
    "CHEAP",
    "FAST",
    "KEY",
    "PASSWORD",
    "TOKEN",
    "Ops",
    "OpsServer",
    "SSEReader",
    "deliver",
    "handover",
    "login",
    "open_stream",
    "settings_for",
    "user_command",
]
