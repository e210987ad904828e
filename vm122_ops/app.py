"""create_app(settings): the Ops ASGI application."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jsonlogs.access import AccessLog
from vm122_ops import openapi, retention
from vm122_ops.auth import OperatorAuth
from vm122_ops.broker import Broker, StreamConfig
from vm122_ops.db import Database
from vm122_ops.errors import RequestError, StorageUnavailable
from vm122_ops.funnel import DurationCache, Window, compute_funnel
from vm122_ops.headers import SecurityHeaders
from vm122_ops.ingest import IngestResult
from vm122_ops.login import DeskSessions, LoginLimiter
from vm122_ops.metrics import OpsMetrics, metrics_endpoint
from vm122_ops.responses import error
from vm122_ops.routes import desk, health, onboard, pages, stream, webhooks
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
        Route("/openapi.json", openapi.endpoint, methods=["GET"]),
        Route("/api/v1/webhooks/onboard", webhooks.ingest_onboard, methods=["POST"]),
        Route("/api/v1/onboard/funnel", onboard.funnel, methods=["GET"]),
        Route("/api/v1/onboard/failures", onboard.failures, methods=["GET"]),
        Route(
            "/api/v1/onboard/sessions/{session_id}/timeline",
            onboard.session_timeline,
            methods=["GET"],
        ),
        Route("/api/v1/desk/tickets", desk.list_tickets, methods=["GET"]),
        Route("/api/v1/desk/tickets/{ticket_id}", desk.get_ticket, methods=["GET"]),
        Route("/api/v1/stream", stream.stream, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        # The Desk (docs/desk.md): pages, login, and their static modules and styles.
        Route("/", pages.dashboard, methods=["GET"]),
        Route("/tickets", pages.tickets, methods=["GET"]),
        Route("/tickets/{ticket_id}", pages.ticket, methods=["GET"]),
        Route("/sessions/{session_id}", pages.session, methods=["GET"]),
        Route("/login", pages.login_page, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
    ]


def static_mounts() -> list[BaseRoute]:
    """The Desk's ES modules and styles, open to all (they hold no data)."""
    return [
        Mount("/css", StaticFiles(directory=pages.FRONTEND / "css"), name="css"),
        Mount("/js", StaticFiles(directory=pages.FRONTEND / "js"), name="js"),
    ]


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    stream_config: StreamConfig | None = None,
) -> Starlette:
    sessions = DeskSessions(settings.api_token, clock=clock)
    metrics = OpsMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        broker = Broker(stream_config)
        # The broker hears of events only after their COMMIT, in commit order.
        durations = DurationCache()

        def committed(results: list[Any]) -> None:
            for result in results:
                if isinstance(result, IngestResult) and not result.duplicate:
                    durations.apply(result.id, result.durations)
            broker.publish(results)

        db = Database(settings.db_path, after_commit=committed)
        await db.open()

        async def funnel_of(hours: int) -> dict[str, Any]:
            window = Window(hours=hours, now_ms=int(clock() * 1000))
            async with db.read() as conn:
                return await compute_funnel(conn, db.queries, window, durations)

        broker.start(funnel_of)
        metrics.track_broker(broker)
        purger = asyncio.create_task(
            retention.purge_periodically(db, settings.retention_days, clock),
            name="ops-retention",
        )
        app.state.ops = AppState(
            settings=settings,
            db=db,
            clock=clock,
            broker=broker,
            sessions=sessions,
            limiter=LoginLimiter(),
            metrics=metrics,
            durations=durations,
        )
        try:
            yield
        finally:
            purger.cancel()
            with suppress(asyncio.CancelledError):
                await purger
            await broker.close()
            await db.close()

    return Starlette(
        routes=[*routes(), *static_mounts()],
        middleware=[
            Middleware(AccessLog, logger="vm122_ops.access", on_response=metrics.count_request),
            Middleware(SecurityHeaders),
            Middleware(OperatorAuth, token=settings.api_token, sessions=sessions),
        ],
        exception_handlers={
            RequestError: _request_error,
            StorageUnavailable: _storage_unavailable,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
