"""create_app(settings): the Ops ASGI application."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vm122_ops.auth import OperatorAuth
from vm122_ops.db import Database
from vm122_ops.errors import RequestError, StorageUnavailable
from vm122_ops.responses import error
from vm122_ops.routes import desk, health, onboard, webhooks
from vm122_ops.settings import Settings
from vm122_ops.state import AppState

log = logging.getLogger("vm122_ops")


async def _request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return error(exc.status, exc.message)


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    return error(503, "the event store is unavailable; retry later", {"Retry-After": "5"})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "no such endpoint", 405: "method not allowed on this endpoint"}
    return error(exc.status_code, messages.get(exc.status_code, str(exc.detail)), exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error(500, "internal error")


def routes() -> list[Route]:
    return [
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/api/v1/webhooks/onboard", webhooks.ingest_onboard, methods=["POST"]),
        Route("/api/v1/onboard/funnel", onboard.funnel, methods=["GET"]),
        Route(
            "/api/v1/onboard/sessions/{session_id}/timeline",
            onboard.session_timeline,
            methods=["GET"],
        ),
        Route("/api/v1/desk/tickets", desk.list_tickets, methods=["GET"]),
        Route("/api/v1/desk/tickets/{ticket_id}", desk.get_ticket, methods=["GET"]),
    ]


def create_app(settings: Settings, *, clock: Callable[[], float] = time.time) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.db_path)
        await db.open()
        app.state.ops = AppState(settings=settings, db=db, clock=clock)
        try:
            yield
        finally:
            await db.close()

    return Starlette(
        routes=routes(),
        middleware=[Middleware(OperatorAuth, token=settings.api_token)],
        exception_handlers={
            RequestError: _request_error,
            StorageUnavailable: _storage_unavailable,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
