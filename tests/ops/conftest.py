"""Fixtures for the Ops tests: a fresh SQLite per test, the app in-process, a signer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.support import peek
from tests.support.apps import ops_settings
from tests.support.credentials import AUTH, KEY, TOKEN
from tests.support.runner import in_process
from tests.support.schema import migrated_ops
from tests.support.signer import INGEST, event_body, iso, new_webhook_id, signed_headers
from vm122_ops.app import create_app
from vm122_ops.settings import Settings
from vm122_ops.store.db import Database

__all__ = ["AUTH", "KEY", "TOKEN", "iso"]  # used by the Ops tests from here

HOUR = 3600.0
# A fixed "now" (2026-11-29T12:00:00Z) so event times and windows are exact.
NOW = 1_795_953_600.0


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Ops:
    """The app under test plus helpers to send signed events at the clock's time."""

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
        if event_type == "onboarding.failed":
            data.setdefault("reason", "carbonio fault")
        return event_body(event_type, session_id, at=at, domain=domain, **data)

    def headers(
        self, webhook_id: str, body: bytes, *, ts: float | None = None, key: bytes = KEY
    ) -> dict[str, str]:
        return signed_headers(
            webhook_id, body, timestamp=self.clock.now if ts is None else ts, key=key
        )

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(INGEST, content=body, headers=headers)

    async def send(
        self,
        event_type: str,
        session_id: str,
        at: float,
        *,
        webhook_id: str | None = None,
        **data: Any,
    ) -> httpx.Response:
        body = self.body(event_type, session_id, at, **data)
        return await self.post_raw(body, self.headers(webhook_id or new_webhook_id(), body))

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def funnel(self, **params: Any) -> dict[str, Any]:
        return await self.get("/api/v1/onboard/funnel", **params)

    async def count(self, table: str = "webhook_events") -> int:
        return peek.counts(self.db_path, [table])[table]


def make_settings(tmp_path: Path) -> Settings:
    return ops_settings(tmp_path / "ops.db")


@asynccontextmanager
async def running_ops(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Ops]:
    """Ops in-process on ``settings`` with its lifespan run, and the helpers around it; a
    new database starts from the migrated schema (tests/support/schema.py)."""
    migrated_ops(settings.db_path)
    clock = clock or Clock()
    app = create_app(settings, clock=clock)
    async with in_process(app, base_url="http://ops.test") as (_, client):
        yield Ops(client=client, clock=clock, db_path=settings.db_path, app=app)


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[Ops]:
    async with running_ops(make_settings(tmp_path)) as running:
        yield running
