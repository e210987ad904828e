"""The real Ops for the portal's end-to-end tests: in-process, under uvicorn on a loopback
port, or as a port that is closed or hangs (accepts connections and never answers)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from tests.loopback import LoopbackServer
from tests.portal.conftest import KEY
from vm122_ops.app import create_app
from vm122_ops.settings import Settings

TOKEN = "portal-e2e-operator-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def ops_settings(db_path: Path, port: int = 8080) -> Settings:
    return Settings(port=port, db_path=db_path, webhook_secrets=(KEY,), api_token=TOKEN)


def stored_events(db_path: Path) -> list[tuple[str, str, str]]:
    """(event_id, session_id, event_type) of every event Ops stored, in arrival order."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select event_id, session_id, event_type from webhook_events order by id"
        ).fetchall()
    finally:
        conn.close()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


@asynccontextmanager
async def ops_in_process(db_path: Path) -> AsyncIterator[tuple[ASGIApp, httpx.AsyncClient]]:
    """The Ops app with its lifespan, and an authorised client for its read API."""
    app = create_app(ops_settings(db_path))
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://ops.test",
            headers=AUTH,
        ) as client,
    ):
        yield manager.app, client


@dataclass
class OpsServer:
    """Ops under uvicorn in this event loop on 127.0.0.1:port; start/stop keep the port."""

    db_path: Path
    port: int
    _loopback: LoopbackServer = field(default_factory=LoopbackServer)

    async def start(self) -> None:
        self._loopback.port = self.port
        await self._loopback.start(create_app(ops_settings(self.db_path, self.port)))

    async def stop(self) -> None:
        await self._loopback.stop()

    async def get(self, path: str, **params: Any) -> Any:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            response = await client.get(path, params=params, headers=AUTH)
        return response.json()


@dataclass
class HangingServer:
    """Accepts connections on 127.0.0.1:port, reads, and never answers."""

    port: int
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    accepted: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        while await reader.read(65536):
            pass

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()
            self._server = None


# What depends on when Ops received an event rather than on the events themselves: row and
# ticket ids, receipt times (a ticket's created_at/updated_at are its events' receipt
# times), and the moment and bounds of the answer. An event's own data is kept whole.
RECEIPT_FIELDS = frozenset(
    {"id", "received_at", "created_at", "updated_at", "generated_at", "since", "last_event_id"}
)


def _without_receipt(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: v if k == "data" else _without_receipt(v)
            for k, v in value.items()
            if k not in RECEIPT_FIELDS
        }
    if isinstance(value, list):
        return [_without_receipt(item) for item in value]
    return value


async def ops_view(client: httpx.AsyncClient, session_ids: list[str]) -> dict[str, Any]:
    """The funnel, every listed session's timeline, and every ticket with its timeline, as
    the API answers them, without the receipt-dependent fields: equal for two stores that
    hold the same events, whatever order or time each received them in."""
    view: dict[str, Any] = {}
    view["funnel"] = (await client.get("/api/v1/onboard/funnel")).json()
    for session_id in session_ids:
        timeline = await client.get(f"/api/v1/onboard/sessions/{session_id}/timeline")
        view[f"timeline {session_id}"] = [timeline.status_code, timeline.json()]
    tickets: list[Any] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/desk/tickets", params=params)).json()
        for ticket in page["tickets"]:
            tickets.append((await client.get(f"/api/v1/desk/tickets/{ticket['id']}")).json())
        cursor = page["next"]
        if not cursor:
            break
    view["tickets"] = sorted(tickets, key=lambda ticket: str(ticket["session_id"]))
    stripped: dict[str, Any] = _without_receipt(view)
    return stripped
