"""Portal fixtures: a fresh SQLite per test, the app in-process, a recording fake Ops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook
from starlette.applications import Starlette

from tests.support import peek
from tests.support.credentials import KEY
from tests.support.runner import in_process
from tests.support.schema import migrated_portal
from vm112_portal.app import create_app
from vm112_portal.ownership import TxtResolver
from vm112_portal.settings import Settings
from vm112_portal.support import SECRET_COOKIE, SECRET_HEADER

PASSWORD = "Sup3r-secret-pw!"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Fast retry policy, sandbox providers, Ops at a fake address."""
    base = Settings(
        db_path=tmp_path / "portal.db",
        ops_url="http://ops.test",
        webhook_secret=KEY,
        ops_timeout=0.5,
        backoff_base=0.01,
        backoff_max=0.05,
        outbox_poll=0.05,
        rate_limits=False,  # tests/portal/test_throttle.py turns them on
        # The mail check queues a seventh event at the account step; its own tests
        # (tests/portal/test_mail_check.py) turn it on, the others count six.
        mail_check=False,
    )
    return replace(base, **overrides)


def cloudflare_refuses_writes(request: httpx.Request) -> httpx.Response:
    """A MockTransport Cloudflare whose token may read the zone (empty) but not write
    records: the v4 API's error envelope with code 10000 (Authentication error) on a write."""
    if request.method == "GET" and request.url.path.endswith("/zones"):
        zone = {"id": "z" * 32, "name": "example.pt"}
        return httpx.Response(200, json={"success": True, "errors": [], "result": [zone]})
    if request.method == "GET":
        return httpx.Response(200, json={"success": True, "errors": [], "result": []})
    error = {"code": 10000, "message": "Authentication error"}
    return httpx.Response(403, json={"success": False, "errors": [error], "result": None})


@dataclass
class FakeOps:
    """A MockTransport Ops: verifies every signature, records bodies, answers as told.

    ``responses`` is consumed first (one per request; a status int or a Response); after it
    runs out every request gets ``otherwise`` when set, else 202 (200 for a duplicate).
    ``hang`` makes requests wait forever (until cancelled).

    A scripted answer is spent even when the dispatcher has given up waiting for it (its
    timeout fired first: the event is retried), so a test about "every request" sets
    ``otherwise`` rather than counting answers.
    """

    responses: list[int | httpx.Response] = field(default_factory=list)
    otherwise: int | None = None
    hang: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)  # every verified request
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id -> body
    attempts: list[tuple[str, int]] = field(default_factory=list)  # (webhook-id, status)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/webhooks/onboard"
        assert request.headers["content-type"] == "application/json"
        body = request.content
        headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
        Webhook(KEY).verify(body, headers)  # raises when the signature is wrong or stale
        webhook_id = headers["webhook-id"]
        if self.hang:
            await asyncio.Event().wait()
        document = orjson.loads(body)
        self.received.append({"webhook_id": webhook_id, "headers": headers, **document})
        if self.responses:
            answer = self.responses.pop(0)
            response = answer if isinstance(answer, httpx.Response) else httpx.Response(answer)
        elif self.otherwise is not None:
            response = httpx.Response(self.otherwise)
        elif webhook_id in self.stored:
            response = httpx.Response(200, json={"ok": True, "duplicate": True})
        else:
            response = httpx.Response(202, json={"ok": True, "id": len(self.stored) + 1})
        if response.status_code in (200, 202):
            self.stored.setdefault(webhook_id, document)
        self.attempts.append((webhook_id, response.status_code))
        return response

    def types(self) -> list[str]:
        return [str(body["type"]) for body in self.stored.values()]

    def types_for(self, session_id: str) -> list[str]:
        return [
            str(body["type"])
            for body in self.stored.values()
            if body["data"]["session_id"] == session_id
        ]


@dataclass
class Portal:
    app: Starlette
    client: httpx.AsyncClient
    ops: FakeOps
    settings: Settings

    # Each session's wizard secret (its cookie from validate-domain), by session id.
    secrets: dict[str, str] = field(default_factory=dict)

    async def post(self, path: str, body: Any) -> httpx.Response:
        """A wizard step as an API client: the session named in the body, with that
        session's secret (X-Wizard-Secret), never the last cookie of the shared client."""
        session = body.get("session_id") if isinstance(body, dict) else None
        headers = {}
        if isinstance(session, str) and session in self.secrets:
            headers[SECRET_HEADER] = self.secrets[session]
        response = await self.client.post(f"/api/v1/onboarding/{path}", json=body, headers=headers)
        self.client.cookies.clear()
        issued = response.cookies.get(SECRET_COOKIE)
        if issued and isinstance(session, str):
            self.secrets[session] = issued
        return response

    async def validate(self, session_id: str, domain: str) -> httpx.Response:
        return await self.post("validate-domain", {"session_id": session_id, "domain": domain})

    async def dns(self, session_id: str, domain: str) -> httpx.Response:
        return await self.post("dns/cloudflare/apply", {"session_id": session_id, "domain": domain})

    async def account(self, session_id: str, domain: str, **extra: Any) -> httpx.Response:
        body = {
            "session_id": session_id,
            "domain": domain,
            "admin_local_part": "admin",
            "display_name": "Ana Lopes",
            "password": PASSWORD,
            **extra,
        }
        return await self.post("account/create", body)

    async def wizard(self, session_id: str, domain: str) -> list[httpx.Response]:
        return [
            await self.validate(session_id, domain),
            await self.dns(session_id, domain),
            await self.account(session_id, domain),
        ]

    def outbox(self) -> list[dict[str, Any]]:
        return peek.outbox(self.settings.db_path)

    async def health(self) -> dict[str, Any]:
        response = await self.client.get("/healthz")
        document: dict[str, Any] = response.json()
        return document

    async def drained(self) -> bool:
        """No event pending in the outbox: /healthz's ``outbox.pending`` is 0, read from
        the database file. Asking /healthz itself, every poll would be a request in
        flight, and the dispatcher holds a batch back until the Portal has been without
        one for a moment (vm112_portal/outbox/dispatcher.py, QUIET_GRACE): the waiting
        would delay what it waits for."""
        pending = peek.value(
            self.settings.db_path, "select count(*) from outbox where state = 'pending'"
        )
        return bool(pending == 0)


@asynccontextmanager
async def running_portal(
    settings: Settings,
    ops: FakeOps | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    providers_in_process: bool = True,
    proof_resolver: TxtResolver | None = None,
) -> AsyncIterator[Portal]:
    """The portal in-process; its sandbox providers answer in-process too unless told not.
    A new database starts from the migrated schema (tests/support/schema.py)."""
    migrated_portal(settings.db_path)
    fake = ops or FakeOps()
    app = create_app(
        settings,
        ops_transport=transport or httpx.MockTransport(fake),
        providers_in_process=providers_in_process,
        proof_resolver=proof_resolver,
    )
    async with in_process(app, base_url="http://portal.test") as (_, client):
        yield Portal(app, client, fake, settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def portal(settings: Settings) -> AsyncIterator[Portal]:
    async with running_portal(settings) as running:
        yield running
