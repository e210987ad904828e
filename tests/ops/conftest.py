"""Fixtures for the Ops tests: a fresh SQLite per test, the app in-process, a signer."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from vm122_ops.app import create_app
from vm122_ops.db import Database
from vm122_ops.settings import Settings
from vm122_ops.signatures import sign

KEY = bytes(range(32))
TOKEN = "operator-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOUR = 3600.0
# A fixed "now" (2026-11-29T12:00:00Z) so event times and windows are exact.
NOW = 1_795_953_600.0


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


def iso(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


_ids = itertools.count(1)


@dataclass
class Ops:
    """The app under test plus helpers to send signed events."""

    client: httpx.AsyncClient
    clock: Clock
    db_path: Path
    app: Starlette | None = None

    @property
    def db(self) -> Database:
        assert self.app is not None
        database: Database = self.app.state.ops.db
        return database

    def body(
        self,
        event_type: str,
        session_id: str,
        at: float,
        domain: str = "example.com",
        **data: Any,
    ) -> bytes:
        payload = {"session_id": session_id, "domain": domain, **data}
        if event_type == "onboarding.failed":
            payload.setdefault("reason", "carbonio fault")
        return orjson.dumps({"type": event_type, "timestamp": iso(at), "data": payload})

    def headers(
        self, webhook_id: str, body: bytes, *, ts: float | None = None, key: bytes = KEY
    ) -> dict[str, str]:
        stamp = int(self.clock.now if ts is None else ts)
        return {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(key, webhook_id, stamp, body),
        }

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post("/api/v1/webhooks/onboard", content=body, headers=headers)

    async def send(
        self,
        event_type: str,
        session_id: str,
        at: float,
        *,
        webhook_id: str | None = None,
        **data: Any,
    ) -> httpx.Response:
        webhook_id = webhook_id or f"msg_{next(_ids)}"
        body = self.body(event_type, session_id, at, **data)
        return await self.post_raw(body, self.headers(webhook_id, body))

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def funnel(self, **params: Any) -> dict[str, Any]:
        return await self.get("/api/v1/onboard/funnel", **params)

    async def count(self, table: str = "webhook_events") -> int:
        import sqlite3

        with sqlite3.connect(self.db_path) as conn:
            return int(conn.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608


def make_settings(tmp_path: Path) -> Settings:
    return Settings(db_path=tmp_path / "ops.db", webhook_secrets=(KEY,), api_token=TOKEN)


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    clock = Clock()
    app = create_app(make_settings(tmp_path), clock=clock)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ops.test") as client:
            yield Ops(client=client, clock=clock, db_path=tmp_path / "ops.db", app=app)
